/**
 * The stream of lines: draws each line's kind from the rates, and its key fresh or from the
 * pool of recent keys. One LineSource (one RNG, one pool) writes every file of a run in
 * chronological order, so a repeated key always repeats one from earlier lines, in the same
 * file or an older one, and the output depends only on the options.
 */
import { DEVICE_TYPES } from '../config/servers.js';
import { ByteSink } from './byte-sink.js';
import { AppDraw, kindHasKey, kindIsLoaded, REJECT_KINDS, writeLine, type LineKind, type RejectKind } from './line.js';
import { DevKey, KeyPool } from './keys.js';
import type { Rng } from './rng.js';

export interface LineMix {
  /** Fraction of keyed lines whose key was already loaded earlier. Default 0. */
  readonly repeatRate?: number;
  /** Fraction of all lines that are malformed, spread evenly over the malformed kinds. Default 0. */
  readonly badRate?: number;
  /** Fraction of all lines that are blank (whitespace only). Default 0. */
  readonly blankRate?: number;
  /** End lines with `\r\n`. Default false. */
  readonly crlf?: boolean;
  /** When set, `too_long` lines (just over this many bytes) join the malformed kinds. */
  readonly maxLineBytes?: number;
  /** How many recent loaded keys repeats are drawn from. Default 100 000. */
  readonly keyPool?: number;
}

export const DEFAULT_KEY_POOL = 100_000;

/** What was written, by intended outcome. `lines` counts every line, blank ones included. */
export interface LineTally {
  lines: number;
  bytes: number;
  valid: number;
  /** Kept with some app ids dropped. */
  warnings: number;
  blank: number;
  rejected: Record<RejectKind, number>;
  /** Loaded lines (valid + warnings) whose key had been loaded before, in any file. */
  repeated: number;
  /** Distinct keys among this file's loaded lines. */
  distinctKeys: number;
}

export function emptyTally(): LineTally {
  return {
    lines: 0,
    bytes: 0,
    valid: 0,
    warnings: 0,
    blank: 0,
    rejected: { too_long: 0, fields: 0, empty: 0, type: 0, key: 0, geo: 0 },
    repeated: 0,
    distinctKeys: 0,
  };
}

const CRLF = new Uint8Array([0x0d, 0x0a]);
const LF = new Uint8Array([0x0a]);

export class LineSource {
  readonly #rng: Rng;
  readonly #repeat: number;
  readonly #bad: number;
  readonly #blank: number;
  readonly #badKinds: readonly LineKind[];
  readonly #eol: Uint8Array;
  readonly #maxLineBytes: number;
  readonly #pool: KeyPool;
  readonly #key = new DevKey();
  readonly #apps = new AppDraw();

  constructor(rng: Rng, mix: LineMix = {}) {
    this.#rng = rng;
    this.#repeat = mix.repeatRate ?? 0;
    this.#bad = mix.badRate ?? 0;
    this.#blank = mix.blankRate ?? 0;
    this.#maxLineBytes = mix.maxLineBytes ?? 0;
    // `warn` lines are "malformed" too (they carry bad app ids), so they share badRate.
    this.#badKinds = [...REJECT_KINDS.filter((k) => k !== 'too_long' || this.#maxLineBytes > 0), 'warn'];
    this.#eol = mix.crlf ? CRLF : LF;
    this.#pool = new KeyPool(mix.keyPool ?? DEFAULT_KEY_POOL);
  }

  /** The malformed kinds this source draws from when a line is bad. */
  get badKinds(): readonly LineKind[] {
    return this.#badKinds;
  }

  /** Appends `count` lines of file number `file` to `out`, counting them in `tally`. */
  writeLines(out: ByteSink, count: number, tally: LineTally, file = 0): void {
    const rng = this.#rng;
    const pool = this.#pool;
    const key = this.#key;
    const start = out.offset;
    for (let i = 0; i < count; i++) {
      const kind = this.#nextKind();
      let slotOfKey = -1;
      let reused = false;
      if (kindHasKey(kind)) {
        if (pool.size > 0 && rng.chance(this.#repeat)) {
          slotOfKey = pool.pick(rng, key);
          reused = true;
        } else {
          key.fresh(rng, DEVICE_TYPES.length);
        }
      }
      writeLine(out, rng, kind, key, this.#apps, this.#eol, this.#maxLineBytes);
      this.#count(kind, tally);
      if (!kindIsLoaded(kind)) continue;
      if (reused) tally.repeated++;
      else slotOfKey = pool.add(key);
      // Fresh ids are 128 random bits: a collision would be a 2^-64 event, so a fresh key
      // is always new, and the pool knows whether a reused one is new to this file.
      if (slotOfKey < 0 || pool.markLoaded(slotOfKey, file)) tally.distinctKeys++;
    }
    tally.lines += count;
    tally.bytes += out.offset - start;
  }

  #nextKind(): LineKind {
    const u = this.#rng.float();
    if (u < this.#blank) return 'blank';
    if (u < this.#blank + this.#bad) return this.#rng.pick(this.#badKinds);
    return 'valid';
  }

  #count(kind: LineKind, tally: LineTally): void {
    if (kind === 'valid') tally.valid++;
    else if (kind === 'warn') tally.warnings++;
    else if (kind === 'blank') tally.blank++;
    else tally.rejected[kind]++;
  }
}

/** `count` lines in memory (for tests and benchmarks), with what they are meant to be. */
export function makeLines(rng: Rng, count: number, mix: LineMix = {}): { buf: Buffer; tally: LineTally } {
  const sink = new ByteSink();
  const tally = emptyTally();
  new LineSource(rng, mix).writeLines(sink, count, tally);
  return { buf: Buffer.concat(sink.take()), tally };
}
