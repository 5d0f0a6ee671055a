/**
 * Benchmark data: generated once with the project's generator (fixed seed), cached under
 * bench/.cache/ keyed by the settings and a hash of the generator's source, reused by later runs.
 * Next to the files, what memcached must hold afterwards (and, for the main data set, the
 * floor's frames), computed once by bench/lib/expect.ts and cached too.
 *
 *   bench/.cache/<name>/files/*.tsv.gz   gen.json   expect-<sample>.json   frames/<type>.{ms,md}.bin
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { generateLogs } from '../../src/generate/index.js';
import { repoRoot } from '../../test/helpers/paths.js';
import { prepareExpectation, type Expectation, type Frames } from './expect.js';

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
    const r = await prepareExpectation(dir, gen, opts.sample, opts.frames ? framesDir : null);
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
