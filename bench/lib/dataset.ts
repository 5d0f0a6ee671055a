/**
 * Benchmark data: generated once with the project's generator (fixed seed), cached under
 * bench/.cache/ keyed by the settings and a hash of the generator's source, reused by later runs.
 *
 * Next to the files, one plain pass (test/helpers/oracle.ts: SPEC.md's rules on strings, values
 * by protobufjs; no code shared with the loader) computes what memcached must hold afterwards —
 * record count, distinct keys, a sample of keys with the value of the last line naming each —
 * and, for the main data set, the floor's pre-rendered frames: every record as a quiet meta set
 * `ms <key> <len> q\r\n<value>\r\n`, and every distinct key as `md <key> q\r\n` (to empty the
 * servers again after warming them), one file of each per server.
 *
 *   bench/.cache/<name>/files/*.tsv.gz   gen.json   expect-<sample>.json   frames/<type>.{ms,md}.bin
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { generateLogs } from '../../src/generate/index.js';
import { encode, judgeLine, type OracleRecord } from '../../test/helpers/oracle.js';
import { repoRoot } from '../../test/helpers/paths.js';

export const CACHE_DIR = join(repoRoot(), 'bench', '.cache');

export interface DatasetSpec {
  readonly files: number;
  /** Lines per file. */
  readonly lines: number;
  readonly repeat: number;
  readonly bad: number;
  readonly seed: number;
}

export interface GenInfo {
  readonly files: readonly string[];
  /** Every line written, blank ones included. */
  readonly lines: number;
  /** Uncompressed bytes. */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Lines meant to load (valid + with dropped app ids). */
  readonly loaded: number;
  /** Distinct keys by the generator's own count (loaded − repeated). */
  readonly distinctKeys: number;
  readonly generateSeconds: number;
}

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

export interface Dataset {
  readonly name: string;
  readonly dir: string;
  readonly spec: DatasetSpec;
  readonly gen: GenInfo;
  readonly expect: Expectation;
  /** Present when prepared with frames: per device type, in DEVICE_TYPES order. */
  readonly frames: Frames | null;
  /** True when this run generated the data (false: taken from the cache). */
  readonly generated: boolean;
}

export interface Frames {
  readonly ms: readonly string[];
  readonly md: readonly string[];
  readonly bytes: number;
}

/** Files of at most this many lines, like the real minute logs (SPEC.md: ~3.4 M lines a file). */
export const REAL_FILE_LINES = 3_400_000;

/** A data set of `total` lines for the scaling run: real-sized files, as few as will do. */
export function scaleSpec(total: number, base: Omit<DatasetSpec, 'files' | 'lines'>): DatasetSpec {
  const files = Math.ceil(total / REAL_FILE_LINES);
  return { ...base, files, lines: Math.ceil(total / files) };
}

function generatorHash(): string {
  const dir = join(repoRoot(), 'src', 'generate');
  const h = createHash('sha256');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts')).sort()) {
    h.update(name).update(readFileSync(join(dir, name)));
  }
  return h.digest('hex').slice(0, 8);
}

export function datasetName(spec: DatasetSpec): string {
  return `f${spec.files}x${spec.lines}-r${spec.repeat}-b${spec.bad}-s${spec.seed}-g${generatorHash()}`;
}

/**
 * The data set for `spec`, generated and prepared if the cache does not have it yet.
 * `frames`: also pre-render the floor's frames. `sample`: how many keys to check after a run.
 */
export async function ensureDataset(
  spec: DatasetSpec,
  opts: { frames: boolean; sample: number; log: (msg: string) => void },
): Promise<Dataset> {
  const name = datasetName(spec);
  const dir = join(CACHE_DIR, name);
  let generated = false;
  let gen: GenInfo;
  const genPath = join(dir, 'gen.json');
  if (existsSync(genPath)) {
    gen = JSON.parse(await readFile(genPath, 'utf8')) as GenInfo;
  } else {
    generated = true;
    opts.log(`generating ${spec.files} × ${spec.lines.toLocaleString('en')} lines into ${dir} (once; cached)`);
    gen = await generate(spec, dir);
  }
  const expectPath = join(dir, `expect-${opts.sample}.json`);
  const framesDir = join(dir, 'frames');
  const framesDone = join(framesDir, 'done.json');
  let expect: Expectation;
  let frames: Frames | null = null;
  if (existsSync(expectPath) && (!opts.frames || existsSync(framesDone))) {
    expect = JSON.parse(await readFile(expectPath, 'utf8')) as Expectation;
    if (opts.frames) {
      // Paths are resolved here, not trusted from the file: the cache may have been moved.
      const saved = JSON.parse(await readFile(framesDone, 'utf8')) as Frames;
      const here = (paths: readonly string[]) => paths.map((p) => join(framesDir, basename(p)));
      frames = { ...saved, ms: here(saved.ms), md: here(saved.md) };
    }
  } else {
    opts.log(`computing expected values${opts.frames ? ' and pre-rendering the floor frames' : ''} for ${name} (once; cached)`);
    const r = await prepare(dir, gen, opts.sample, opts.frames ? framesDir : null);
    expect = r.expect;
    frames = r.frames;
    await writeFile(expectPath, JSON.stringify(expect));
    if (frames) await writeFile(framesDone, JSON.stringify(frames));
  }
  return { name, dir, spec, gen, expect, frames, generated };
}

async function generate(spec: DatasetSpec, dir: string): Promise<GenInfo> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const t0 = performance.now();
  const summary = await generateLogs({
    dir: join(tmp, 'files'),
    files: spec.files,
    lines: spec.lines,
    seed: spec.seed,
    repeatRate: spec.repeat,
    badRate: spec.bad,
  });
  const generateSeconds = (performance.now() - t0) / 1000;
  const loaded = summary.files.reduce((a, f) => a + f.valid + f.warnings, 0);
  const repeated = summary.files.reduce((a, f) => a + f.repeated, 0);
  const gen: GenInfo = {
    files: summary.files.map((f) => f.name),
    lines: summary.lines,
    bytes: summary.bytes,
    gzipBytes: summary.gzipBytes,
    loaded,
    distinctKeys: loaded - repeated,
    generateSeconds,
  };
  await writeFile(join(tmp, 'gen.json'), JSON.stringify(gen));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return gen;
}

export function dataFiles(ds: Dataset): string[] {
  return ds.gen.files.map((f) => join(ds.dir, 'files', f));
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

async function prepare(
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
 * What memcached must hold after loading the first `limit` records of the data set (the memjs
 * baseline's slice): every key of the slice is sampled when there are at most `sampleSize`.
 */
export async function expectSlice(ds: Dataset, limit: number, sampleSize: number): Promise<Expectation> {
  const t0 = performance.now();
  const last = new Map<string, OracleRecord>();
  const rejected: Record<string, number> = {};
  const recordsByType: Record<string, number> = Object.fromEntries(DEVICE_TYPES.map((t) => [t, 0]));
  let lines = 0;
  let blank = 0;
  let records = 0;
  await forEachLine(dataFiles(ds), (raw) => {
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
