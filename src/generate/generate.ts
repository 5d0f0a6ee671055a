/**
 * generateLogs: realistic minute logs (`YYYYMMDDhhmmss.tsv.gz`, one minute apart) for tests,
 * benchmarks and demos, byte-identical for the same options.
 *
 *   LineSource (one RNG + key pool) ─► ByteSink, 4096 lines at a time
 *        ─► GzipFile: 1 MiB blocks deflated in parallel on libuv's pool ─► <name>.part ─► <name>
 *
 * Files are written one after another, so keys repeat in chronological order. The main thread
 * builds lines while the pool compresses earlier blocks; GzipFile bounds the blocks in flight,
 * so memory stays at a few MiB whatever the file size.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, InvalidArgumentError } from '../errors.js';
import { makeFolder } from '../logfile/make-folder.js';
import { ByteSink } from './byte-sink.js';
import { GzipFile } from './gzip-file.js';
import type { RejectKind } from './line.js';
import { DEFAULT_KEY_POOL, emptyTally, LineSource, type LineMix } from './line-source.js';
import { Rng } from './rng.js';

export interface GenerateOptions extends LineMix {
  /** Folder to write into; created if missing. Existing files of the same names are replaced, unless `overwrite` is false. */
  readonly dir: string;
  /** Replace files of the same names already in `dir`. Default true; the CLI's `generate` asks for --force. */
  readonly overwrite?: boolean;
  /** Number of files. Default 1. */
  readonly files?: number;
  /** Lines per file, blank and malformed ones included. Default 10 000. */
  readonly lines?: number;
  /** Minute of the first file: `YYYYMMDDhhmmss`, `YYYY-MM-DD hh:mm:ss`, or a Date (its UTC fields). Default 2017-09-29 00:00:00. */
  readonly start?: Date | string;
  /** Same seed and options → same bytes. Default 1. */
  readonly seed?: number | string;
  /** zlib level 0–9. Default 6 (gzip's own default, as the real files). */
  readonly gzipLevel?: number;
  /** Write each file as this many concatenated gzip members (true: 3), cut mid-line. Default false. */
  readonly multiMember?: boolean | number;
}

export interface GeneratedFile {
  readonly path: string;
  readonly name: string;
  /** Every line written, blank and malformed ones included. */
  readonly lines: number;
  /** Uncompressed bytes. */
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly members: number;
  /** Lines meant to load cleanly. */
  readonly valid: number;
  /** Lines meant to load with some app ids dropped. */
  readonly warnings: number;
  readonly blank: number;
  /** Lines meant to be rejected, by the loader's reason code. */
  readonly rejected: Readonly<Record<RejectKind, number>>;
  /** Loaded lines whose key was already loaded by an earlier line (this file or another). */
  readonly repeated: number;
  /** Distinct keys among the loaded lines of this file. */
  readonly distinctKeys: number;
}

export interface GenerateSummary {
  readonly dir: string;
  readonly seed: number | string;
  readonly files: readonly GeneratedFile[];
  readonly lines: number;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export const GENERATE_DEFAULTS = {
  files: 1,
  lines: 10_000,
  start: '2017-09-29 00:00:00',
  seed: 1,
  gzipLevel: 6,
  multiMemberCount: 3,
  repeatRate: 0,
  badRate: 0,
  blankRate: 0,
  crlf: false,
  keyPool: DEFAULT_KEY_POOL,
} as const;

const ROUND_LINES = 4096;

export async function generateLogs(options: GenerateOptions): Promise<GenerateSummary> {
  const o = normalize(options);
  await makeFolder(o.dir);
  if (options.overwrite === false) {
    for (let i = 0; i < o.files; i++) {
      const path = join(o.dir, fileName(o.start, i));
      if (await exists(path)) throw new ConfigError(`${path} exists already; pass --force to replace it`, { file: path });
    }
  }
  const source = new LineSource(new Rng(o.seed), options);
  const results: GeneratedFile[] = [];
  for (let i = 0; i < o.files; i++) results.push(await writeFile(source, i, fileName(o.start, i), o));
  return {
    dir: o.dir,
    seed: o.seed,
    files: results,
    lines: sum(results, (f) => f.lines),
    bytes: sum(results, (f) => f.bytes),
    gzipBytes: sum(results, (f) => f.gzipBytes),
  };
}

async function writeFile(source: LineSource, index: number, name: string, o: Normalized): Promise<GeneratedFile> {
  const gz = new GzipFile(join(o.dir, name), o.gzipLevel);
  const sink = new ByteSink();
  const tally = emptyTally();
  const cutLines = memberCutLines(o.lines, o.members);
  const members = cutLines.length + 1;
  try {
    let line = 0;
    while (line < o.lines) {
      // A member ends in the middle of its cut line: nothing promises members end at a newline.
      if (cutLines.length > 0 && cutLines[0] === line) {
        cutLines.shift();
        const lineStart = sink.offset;
        source.writeLines(sink, 1, tally, index);
        const cut = Math.floor((lineStart + sink.offset) / 2);
        const bufs = sink.take();
        await writeWithCut(gz, bufs, cut - lineStart);
        line++;
        continue;
      }
      const n = Math.min(ROUND_LINES, o.lines - line, (cutLines[0] ?? Infinity) - line);
      source.writeLines(sink, n, tally, index);
      for (const buf of sink.take()) await gz.write(buf);
      line += n;
    }
    const gzipBytes = await gz.close();
    return { path: gz.path, name, ...tally, gzipBytes, members };
  } catch (err) {
    await gz.abort();
    throw err;
  }
}

/** Writes `bufs` (one line's bytes), starting a new gzip member `cut` bytes into them. */
async function writeWithCut(gz: GzipFile, bufs: Buffer[], cut: number): Promise<void> {
  for (const buf of bufs) {
    if (cut >= 0 && cut <= buf.length) {
      await gz.write(buf.subarray(0, cut));
      await gz.nextMember();
      await gz.write(buf.subarray(cut));
      cut = -1;
    } else {
      await gz.write(buf);
      if (cut > 0) cut -= buf.length;
    }
  }
}

/** Lines whose middle starts a new member: `members` parts of nearly equal line counts. */
function memberCutLines(lines: number, members: number): number[] {
  const cuts: number[] = [];
  for (let k = 1; k < members; k++) {
    const line = Math.floor((k * lines) / members);
    if (line < lines && line !== cuts[cuts.length - 1]) cuts.push(line);
  }
  return cuts;
}

/** `YYYYMMDDhhmmss.tsv.gz` for the `index`-th minute after `start` (ms since epoch, UTC). */
export function fileName(start: number, index: number): string {
  const d = new Date(start + index * 60_000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}.tsv.gz`;
}

/** Parses `YYYYMMDDhhmmss`, `YYYY-MM-DD hh:mm:ss` or `YYYY-MM-DDThh:mm:ss` as UTC; NaN if not one. */
export function parseStart(start: Date | string): number {
  if (start instanceof Date) return start.getTime();
  const m = /^(\d{4})-?(\d{2})-?(\d{2})[T ]?(\d{2}):?(\d{2}):?(\d{2})$/.exec(start.trim());
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  // Date.UTC rolls 2017-02-30 over to March; a typo should fail instead.
  return new Date(t).getUTCDate() === d && h < 24 && mi < 60 && se < 60 ? t : NaN;
}

interface Normalized {
  readonly dir: string;
  readonly files: number;
  readonly lines: number;
  readonly start: number;
  readonly seed: number | string;
  readonly gzipLevel: number;
  readonly members: number;
}

function normalize(o: GenerateOptions): Normalized {
  const bad = (what: string): never => {
    throw new InvalidArgumentError(`generate: ${what}`);
  };
  if (typeof o.dir !== 'string' || o.dir === '') bad('dir is required');
  const int = (name: string, v: number | undefined, min: number, max: number, dflt: number): number => {
    const n = v ?? dflt;
    if (!Number.isInteger(n) || n < min || n > max) bad(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
    return n;
  };
  for (const name of ['repeatRate', 'badRate', 'blankRate'] as const) {
    const r = o[name] ?? 0;
    if (typeof r !== 'number' || !(r >= 0 && r <= 1)) bad(`${name} must be in 0..1, got ${String(r)}`);
  }
  if ((o.badRate ?? 0) + (o.blankRate ?? 0) > 1) bad('badRate + blankRate must not exceed 1');
  if (o.maxLineBytes !== undefined) int('maxLineBytes', o.maxLineBytes, 1, 2 ** 30, 0);
  int('keyPool', o.keyPool, 0, 2 ** 24, 0);
  const seed = o.seed ?? GENERATE_DEFAULTS.seed;
  if (typeof seed === 'number' ? !Number.isFinite(seed) : typeof seed !== 'string') bad(`seed must be a finite number or a string`);
  const start = parseStart(o.start ?? GENERATE_DEFAULTS.start);
  if (Number.isNaN(start)) bad(`start must look like 20170929000000 or 2017-09-29 00:00:00, got ${String(o.start)}`);
  const mm = o.multiMember ?? false;
  const members =
    typeof mm === 'boolean' ? (mm ? GENERATE_DEFAULTS.multiMemberCount : 1) : int('multiMember', mm, 1, 1000, 1);
  return {
    dir: o.dir,
    files: int('files', o.files, 1, 100_000, GENERATE_DEFAULTS.files),
    lines: int('lines', o.lines, 0, 1e9, GENERATE_DEFAULTS.lines),
    start,
    seed,
    gzipLevel: int('gzipLevel', o.gzipLevel, 0, 9, GENERATE_DEFAULTS.gzipLevel),
    members,
  };
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  return items.reduce((acc, item) => acc + f(item), 0);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
