/**
 * What memcached must hold after a benchmark data set is loaded, from one plain pass over its
 * files (test/helpers/oracle.ts: SPEC.md's rules on strings, values by protobufjs; no code shared
 * with the loader): record count, distinct keys, a sample of keys with the value of the last line
 * naming each — and, for the main data set, the floor's pre-rendered frames: every record as a
 * quiet meta set `ms <key> <len> q\r\n<value>\r\n`, and every distinct key as `md <key> q\r\n`
 * (to empty the servers again after warming them), one file of each per server.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { encode, judgeLine, type OracleRecord } from '../../test/helpers/oracle.js';
import type { GenInfo } from './dataset.js';

export interface SampleKey {
  readonly type: string;
  readonly key: string;
  /** The value memcached must hold: the last line naming the key, encoded by protobufjs. */
  readonly hex: string;
}

export interface Expectation {
  /** Non-blank lines (what the loader counts as lines). */
  readonly lines: number;
  readonly blank: number;
  /** Lines that load (one set each). */
  readonly records: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly distinctKeys: number;
  /** `oracle`: counted with a Set of every key; `generator`: from its tally (too many keys for a Set). */
  readonly distinctKeysSource: 'oracle' | 'generator';
  readonly recordsByType: Readonly<Record<string, number>>;
  readonly sample: readonly SampleKey[];
  readonly seconds: number;
}

export interface Frames {
  readonly ms: readonly string[];
  readonly md: readonly string[];
  readonly bytes: number;
}

/**
 * Calls `onLine` with every line of the gzipped files, in order, as a latin1 string without
 * its '\n' (so one char is one byte, as in the oracle). `onLine` returns false to stop early.
 */
export async function forEachLine(files: readonly string[], onLine: (line: string) => boolean | void): Promise<void> {
  for (const file of files) {
    const src = createReadStream(file, { highWaterMark: 1 << 20 });
    const gz = src.pipe(createGunzip({ chunkSize: 1 << 18 }));
    let tail = '';
    let stopped = false;
    try {
      for await (const chunk of gz as AsyncIterable<Buffer>) {
        const s = tail + chunk.toString('latin1');
        let start = 0;
        let nl: number;
        while ((nl = s.indexOf('\n', start)) >= 0) {
          if (onLine(s.slice(start, nl)) === false) {
            stopped = true;
            break;
          }
          start = nl + 1;
        }
        if (stopped) break;
        tail = s.slice(start);
      }
      if (!stopped && tail !== '' && onLine(tail) === false) stopped = true;
    } finally {
      gz.destroy();
      src.destroy();
    }
    if (stopped) return;
  }
}

/** Appends latin1 text and bytes to 8 MiB blocks: the plain way to build a big frame buffer. */
class BlockWriter {
  readonly #blocks: Buffer[] = [];
  #cur = Buffer.allocUnsafe(8 << 20);
  #pos = 0;
  length = 0;

  #room(n: number): void {
    if (this.#pos + n <= this.#cur.length) return;
    this.#blocks.push(this.#cur.subarray(0, this.#pos));
    this.#cur = Buffer.allocUnsafe(Math.max(8 << 20, n));
    this.#pos = 0;
  }

  text(s: string): void {
    this.#room(s.length);
    this.#pos += this.#cur.write(s, this.#pos, 'latin1');
    this.length += s.length;
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#cur.set(b, this.#pos);
    this.#pos += b.length;
    this.length += b.length;
  }

  blocks(): Buffer[] {
    return [...this.#blocks, this.#cur.subarray(0, this.#pos)];
  }
}

/** Keys in a Set up to this many lines; past it the generator's count is used (heap). */
const SET_LIMIT_LINES = 4_500_000;

/** The expectation for the files of `gen` in `dir`, and with `framesDir` the floor's frames written there. */
export async function prepareExpectation(
  dir: string,
  gen: GenInfo,
  sampleSize: number,
  framesDir: string | null,
): Promise<{ expect: Expectation; frames: Frames | null }> {
  const t0 = performance.now();
  const files = gen.files.map((f) => join(dir, 'files', f));
  const useSet = gen.lines <= SET_LIMIT_LINES;
  const keys = new Set<string>();
  const sample = new Map<string, { type: string; rec: OracleRecord }>();
  // Sample every step-th record, spread over all files; each keeps updating to its last line.
  const step = Math.max(1, Math.floor(gen.loaded / sampleSize));
  const ms = framesDir ? DEVICE_TYPES.map(() => new BlockWriter()) : null;
  const md = framesDir ? DEVICE_TYPES.map(() => new BlockWriter()) : null;
  const typeIndex = new Map<string, number>(DEVICE_TYPES.map((t, i) => [t, i]));
  const recordsByType: Record<string, number> = Object.fromEntries(DEVICE_TYPES.map((t) => [t, 0]));
  const rejected: Record<string, number> = {};
  let lines = 0;
  let blank = 0;
  let records = 0;
  await forEachLine(files, (raw) => {
    const r = judgeLine(raw);
    if (r === 'blank') {
      blank++;
      return;
    }
    lines++;
    if (typeof r === 'string') {
      rejected[r] = (rejected[r] ?? 0) + 1;
      return;
    }
    const t = typeIndex.get(r.type) as number;
    recordsByType[r.type] = (recordsByType[r.type] ?? 0) + 1;
    if (records % step === 0 && sample.size < sampleSize) sample.set(r.key, { type: r.type, rec: r });
    else if (sample.has(r.key)) sample.set(r.key, { type: r.type, rec: r });
    records++;
    let fresh = true;
    if (useSet) {
      fresh = !keys.has(r.key);
      if (fresh) keys.add(r.key);
    }
    if (ms && md) {
      const value = encode(r);
      const w = ms[t] as BlockWriter;
      w.text(`ms ${r.key} ${value.length} q\r\n`);
      w.bytes(value);
      w.text('\r\n');
      if (fresh) (md[t] as BlockWriter).text(`md ${r.key} q\r\n`);
    }
  });
  let frames: Frames | null = null;
  if (framesDir && ms && md) {
    await mkdir(framesDir, { recursive: true });
    const msPaths: string[] = [];
    const mdPaths: string[] = [];
    for (const [i, type] of DEVICE_TYPES.entries()) {
      const a = join(framesDir, `${type}.ms.bin`);
      const b = join(framesDir, `${type}.md.bin`);
      await writeFile(a, (ms[i] as BlockWriter).blocks());
      await writeFile(b, (md[i] as BlockWriter).blocks());
      msPaths.push(a);
      mdPaths.push(b);
    }
    frames = { ms: msPaths, md: mdPaths, bytes: ms.reduce((a, w) => a + w.length, 0) };
  }
  const expect: Expectation = {
    lines,
    blank,
    records,
    rejected,
    distinctKeys: useSet ? keys.size : gen.distinctKeys,
    distinctKeysSource: useSet ? 'oracle' : 'generator',
    recordsByType,
    sample: [...sample].map(([key, { type, rec }]) => ({ type, key, hex: encode(rec).toString('hex') })),
    seconds: (performance.now() - t0) / 1000,
  };
  return { expect, frames };
}

/**
 * What memcached must hold after loading the first `limit` records of a data set's `files` (the
 * memjs baseline's slice): every key of the slice is sampled when there are at most `sampleSize`.
 */
export async function expectSlice(files: readonly string[], limit: number, sampleSize: number): Promise<Expectation> {
  const t0 = performance.now();
  const last = new Map<string, OracleRecord>();
  const rejected: Record<string, number> = {};
  const recordsByType: Record<string, number> = Object.fromEntries(DEVICE_TYPES.map((t) => [t, 0]));
  let lines = 0;
  let blank = 0;
  let records = 0;
  await forEachLine(files, (raw) => {
    if (records >= limit) return false;
    const r = judgeLine(raw);
    if (r === 'blank') {
      blank++;
      return true;
    }
    lines++;
    if (typeof r === 'string') {
      rejected[r] = (rejected[r] ?? 0) + 1;
      return true;
    }
    records++;
    recordsByType[r.type] = (recordsByType[r.type] ?? 0) + 1;
    last.set(r.key, r);
    return true;
  });
  const all = [...last.values()];
  const step = Math.max(1, Math.floor(all.length / sampleSize));
  const sample = all.filter((_, i) => i % step === 0).slice(0, sampleSize);
  return {
    lines,
    blank,
    records,
    rejected,
    distinctKeys: last.size,
    distinctKeysSource: 'oracle',
    recordsByType,
    sample: sample.map((r) => ({ type: r.type, key: r.key, hex: encode(r).toString('hex') })),
    seconds: (performance.now() - t0) / 1000,
  };
}
