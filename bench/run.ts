/**
 * `npm run bench`: memc-load against the machine's floor and a naive baseline, side by side,
 * in one run, on one data set (issue 3). Settings: bench/lib/settings.ts (environment).
 *
 *   data (generated once, cached)  ──►  4 × memcached -t 1, restarted + warmed before each run
 *     1. floor   (a) gunzip only, CPU (child)     (b) pre-rendered quiet sets → servers, wall + server CPU
 *     2. memc-load: default, --workers 0 … cores  (the real bin, a child; wall, CPU, peak RSS)
 *     3. memjs: one awaited set per record on a slice, extrapolated
 *     4. scaling: memc-load default on 100 k / 1 M / (10 M) lines: µs/line, peak RSS
 *   every timed run is followed by a check of what memcached holds (bench/lib/verify.ts)
 *
 * Writes the tables to stdout and the result to bench/results/latest.json; `npm run bench:doc`
 * turns that into docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { link, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEVICE_TYPES } from '../src/config/servers.js';
import { MEMCACHED_BIN } from '../test/helpers/memcached.js';
import { repoRoot } from '../test/helpers/paths.js';
import { CACHE_DIR, dataFiles, datasetName, ensureDataset, expectSlice, scaleSpec, type Dataset, type Expectation } from './lib/dataset.js';
import { killChildren, loadAverage, machineInfo, machineTicks, round2, runMeasured, ticksToSeconds, type Measured } from './lib/proc.js';
import {
  FLOOR_HEADERS,
  floorCells,
  RESULT_VERSION,
  ROW_HEADERS,
  rowCells,
  SCALE_HEADERS,
  scaleCells,
  textTable,
  type BenchResult,
  type FloorResult,
  type MicroResult,
  type Row,
  type ScaleRow,
} from './lib/report.js';
import { Servers, loadFrames, streamAll, warm } from './lib/servers.js';
import { readSettings, type Settings } from './lib/settings.js';
import { NullSinks } from './lib/sinks.js';
import { verify, type Check } from './lib/verify.js';

const ROOT = repoRoot();
const DIST = join(ROOT, 'dist', 'bench');
const BIN = join(ROOT, 'bin', 'memc-load.js');
const MiB = 1024 * 1024;
const started = performance.now();

function log(msg: string): void {
  const t = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${t}s] ${msg}\n`);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** One timed configuration's runs reduced to a row (median wall; its CPU/RSS from that run). */
interface Sample {
  readonly wallS: number;
  readonly cpuS: number | null;
  readonly serverCpuS: number | null;
  /** The part of serverCpuS spent by memcached's LRU maintainer threads. */
  readonly serverLruCpuS: number | null;
  readonly peakRssMb: number | null;
  readonly check: Check | null;
  readonly problems: readonly string[];
  readonly load1: number;
  /** Cores' worth of CPU other processes used during the run. */
  readonly othersCores: number;
  /** CPU seconds the machine's cores sat idle during the run (all cores together). */
  readonly idleCoreS: number;
  /** Seconds the measured child's main thread was runnable but waited for a CPU. */
  readonly mainWaitS: number | null;
}

/**
 * Around one timed run: the servers' CPU, and how much CPU the rest of the machine (other
 * people's work) took meanwhile — machine busy time from /proc/stat, less the measured child,
 * the servers and this harness.
 */
class Monitor {
  readonly load1 = loadAverage()[0];
  readonly #servers: Servers;
  readonly #server0: number;
  readonly #lru0: number;
  readonly #ticks0 = machineTicks();
  readonly #self0 = process.cpuUsage();
  readonly #t0 = performance.now();

  constructor(servers: Servers) {
    this.#servers = servers;
    this.#server0 = servers.cpuTicks();
    this.#lru0 = servers.lruMaintainerTicks();
  }

  /** Call right after the run, with the measured child's CPU seconds (0 when there is none). */
  end(childCpuS: number): Around {
    const serverCpuS = ticksToSeconds(this.#servers.cpuTicks() - this.#server0);
    const serverLruCpuS = ticksToSeconds(this.#servers.lruMaintainerTicks() - this.#lru0);
    const ticks = machineTicks();
    const busyS = ticksToSeconds(ticks.busy - this.#ticks0.busy);
    const self = process.cpuUsage(this.#self0);
    const wallS = (performance.now() - this.#t0) / 1000;
    const others = busyS - serverCpuS - childCpuS - (self.user + self.system) / 1e6;
    const idleCoreS = ticksToSeconds(ticks.idle - this.#ticks0.idle);
    return { serverCpuS, serverLruCpuS, othersCores: Math.max(0, others) / wallS, idleCoreS, load1: this.load1 };
  }
}

interface Around {
  readonly serverCpuS: number;
  readonly serverLruCpuS: number | null;
  readonly othersCores: number;
  readonly idleCoreS: number;
  readonly load1: number;
}

function pickMedian(samples: readonly Sample[]): { best: Sample; range: [number, number] | null; problems: string[]; notes: string[] } {
  const walls = samples.map((s) => s.wallS);
  const m = median(walls);
  const best = samples.reduce((a, s) => (Math.abs(s.wallS - m) < Math.abs(a.wallS - m) ? s : a));
  const problems = samples.flatMap((s, i) => s.problems.map((p) => (samples.length > 1 ? `run ${i + 1}: ${p}` : p)));
  const notes = samples.flatMap((s, i) => (s.check?.notes ?? []).map((p) => (samples.length > 1 ? `run ${i + 1}: ${p}` : p)));
  return { best: { ...best, wallS: m }, range: samples.length > 1 ? [Math.min(...walls), Math.max(...walls)] : null, problems, notes };
}

class Bench {
  readonly s: Settings;
  readonly servers: Servers;
  readonly main: Dataset;
  readonly ms: Buffer[];
  readonly md: Buffer[];
  readonly scratchRoot: string;
  #scratchSeq = 0;

  constructor(s: Settings, servers: Servers, main: Dataset, ms: Buffer[], md: Buffer[]) {
    this.s = s;
    this.servers = servers;
    this.main = main;
    this.ms = ms;
    this.md = md;
    this.scratchRoot = join(CACHE_DIR, `scratch-${process.pid}`);
  }

  /** Fresh servers, warmed (every main record in, every key deleted), ready for a timed run. */
  async freshServers(): Promise<void> {
    await this.servers.restart();
    if (this.s.warm) await warm(this.servers, this.ms, this.md);
  }

  /** The data set's files, hard-linked (or copied) into a new folder the loader may rename in. */
  async scratch(ds: Dataset): Promise<string> {
    const dir = join(this.scratchRoot, `run-${++this.#scratchSeq}`);
    await mkdir(dir, { recursive: true });
    for (const f of dataFiles(ds)) {
      const to = join(dir, f.slice(f.lastIndexOf('/') + 1));
      try {
        await link(f, to);
      } catch {
        await copyFile(f, to);
      }
    }
    return dir;
  }

  /**
   * With WAIT_QUIET_S: waits (up to that long) until other processes use less than QUIET_CORES
   * cores over a 1 s sample, so runs start on as quiet a machine as it gets.
   */
  async waitQuiet(): Promise<void> {
    if (this.s.waitQuietMs <= 0) return;
    const deadline = performance.now() + this.s.waitQuietMs;
    let others = Infinity;
    while (performance.now() < deadline) {
      const mon = new Monitor(this.servers);
      await sleep(1000);
      others = mon.end(0).othersCores;
      if (others < this.s.quietCores) return;
    }
    log(`  the machine stayed busy (${others.toFixed(2)} cores used by others): measuring anyway`);
  }

  /** floor (a): gunzip of every file in a child, its CPU. */
  async gunzip(): Promise<{ cpuS: number; wallS: number; method: string; poolCpuS: number; problems: string[] }> {
    const runs: { cpuS: number; wallS: number; method: string; poolCpuS: number }[] = [];
    const problems: string[] = [];
    for (let i = 0; i < this.s.runs; i++) {
      const m = await runMeasured({
        script: join(DIST, 'floor', 'gunzip.js'),
        args: dataFiles(this.main),
        timeoutMs: this.s.timeoutMs,
        captureStdout: true,
      });
      const out = lastJson<{ bytes: number; wallMs: number; cpuMs: number; method: string; methods: { pool: { cpuMs: number } } }>(m.stdout);
      if (m.exitCode !== 0 || !out) {
        problems.push(`gunzip child failed (exit ${m.exitCode ?? m.signal}): ${m.stderr.slice(-300)}`);
        continue;
      }
      if (out.bytes !== this.main.gen.bytes) problems.push(`gunzip gave ${out.bytes} bytes, the generator wrote ${this.main.gen.bytes}`);
      runs.push({ cpuS: out.cpuMs / 1000, wallS: out.wallMs / 1000, method: out.method, poolCpuS: out.methods.pool.cpuMs / 1000 });
    }
    const method = runs.every((r) => r.method === runs[0]?.method) ? (runs[0]?.method ?? 'none') : 'mixed';
    return { cpuS: median(runs.map((r) => r.cpuS)), wallS: median(runs.map((r) => r.wallS)), method, poolCpuS: median(runs.map((r) => r.poolCpuS)), problems };
  }

  /** floor (b): the pre-rendered frames streamed into the servers; wall and server CPU. */
  async ingest(): Promise<Sample[]> {
    const out: Sample[] = [];
    for (let i = 0; i < this.s.runs; i++) {
      await this.freshServers();
      const before = await this.servers.counters();
      await this.waitQuiet();
      const mon = new Monitor(this.servers);
      const r = await streamAll(this.servers, this.ms);
      const { serverCpuS, serverLruCpuS, othersCores, idleCoreS, load1 } = mon.end(0);
      const extra = r.errors.length > 0 ? [`${r.errors.length} error replies: ${r.errors.slice(0, 3).join(' | ')}`] : [];
      const check = await verify(this.servers, this.main.expect, before, extra);
      out.push({ wallS: r.wallMs / 1000, cpuS: null, serverCpuS, serverLruCpuS, peakRssMb: null, check, problems: check.problems, load1, othersCores, idleCoreS, mainWaitS: null });
    }
    return out;
  }

  /** One timed run of the real bin on `ds` with `args`, then the check. */
  async loader(ds: Dataset, args: readonly string[]): Promise<Sample> {
    await this.freshServers();
    const before = await this.servers.counters();
    const { m, around, problems } = await this.#runBin(ds, this.servers.cliArgs(), args);
    const check = await verify(this.servers, ds.expect, before, problems);
    return measuredSample(m, around, check, check.problems);
  }

  /**
   * The diagnostic row: the real bin, default settings, into null servers (bench/lib/null-sink.ts)
   * instead of memcached, so what the loader does alone shows beside what it does sharing the
   * cores with the servers. The check: the loader's own counts and renames, and every sink got
   * exactly the bytes of the pre-rendered sets for its device type.
   */
  async loaderIntoSinks(ds: Dataset): Promise<Sample> {
    const sinks = await NullSinks.start();
    try {
      const sink0 = sinks.cpuTicks();
      const sinkCpuS = (): number => ticksToSeconds(sinks.cpuTicks() - sink0);
      const { m, around, problems } = await this.#runBin(ds, sinks.cliArgs(), [], sinkCpuS);
      const got = await sinks.totals();
      for (const [i, type] of DEVICE_TYPES.entries()) {
        const sets = (got.bytes[i] ?? NaN) - 4 * (got.fences[i] ?? NaN);
        const want = this.ms[i]?.length ?? NaN;
        if (sets !== want) problems.push(`the ${type} sink received ${sets} bytes of sets, the pre-rendered sets are ${want}`);
      }
      return measuredSample(m, { ...around, serverCpuS: sinkCpuS(), serverLruCpuS: null }, null, problems);
    } finally {
      sinks.stop();
    }
  }

  /**
   * The real bin on a scratch copy of `ds`, with `serverArgs` and `args`, timed: its figures, the
   * machine around it (`otherCpuS`: CPU of other measured processes, such as the null sinks, kept
   * out of *others*), and what its exit, log and renames say went wrong.
   */
  async #runBin(
    ds: Dataset,
    serverArgs: readonly string[],
    args: readonly string[],
    otherCpuS: () => number = () => 0,
  ): Promise<{ m: Measured; around: Around; problems: string[] }> {
    const dir = await this.scratch(ds);
    const logFile = join(dir, 'memc-load.log');
    try {
      await this.waitQuiet();
      const mon = new Monitor(this.servers);
      const m = await runMeasured({
        script: BIN,
        args: ['--pattern', join(dir, '*.tsv.gz'), ...serverArgs, '--log', logFile, ...this.s.loaderArgs, ...args],
        timeoutMs: this.s.timeoutMs,
      });
      const around = mon.end(m.cpuMs / 1000 + otherCpuS());
      return { m, around, problems: loaderProblems(m, ds.expect, dir, logFile) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** memjs, one awaited set per record, on the first `limit` records. */
  async memjs(limit: number, expect: Expectation): Promise<Sample & { lines: number; records: number; loopS: number; loopCpuS: number }> {
    await this.freshServers();
    const before = await this.servers.counters();
    await this.waitQuiet();
    const mon = new Monitor(this.servers);
    const addrs = DEVICE_TYPES.map((t, i) => `${t}=${this.servers.handles[i]?.address.label}`).join(',');
    const m = await runMeasured({
      script: join(DIST, 'compare', 'memjs-baseline.js'),
      args: [String(limit), addrs, ...dataFiles(this.main)],
      timeoutMs: this.s.timeoutMs,
      captureStdout: true,
    });
    const around = mon.end(m.cpuMs / 1000);
    const out = lastJson<{ lines: number; records: number; loopMs: number; loopCpuMs: number }>(m.stdout);
    const extra: string[] = [];
    if (m.exitCode !== 0 || !out) extra.push(`memjs child failed (exit ${m.exitCode ?? m.signal}): ${m.stderr.slice(-300)}`);
    else if (out.records !== expect.records) extra.push(`memjs wrote ${out.records} records, the slice has ${expect.records}`);
    const check = await verify(this.servers, expect, before, extra);
    return {
      ...measuredSample(m, around, check, check.problems),
      lines: out?.lines ?? 0,
      records: out?.records ?? 0,
      loopS: (out?.loopMs ?? NaN) / 1000,
      loopCpuS: (out?.loopCpuMs ?? NaN) / 1000,
    };
  }
}

/** A measured child's figures beside the servers' CPU and the rest of the machine's load. */
function measuredSample(m: Measured, around: Around, check: Check | null, problems: readonly string[]): Sample {
  return {
    wallS: m.wallMs / 1000,
    cpuS: m.cpuMs / 1000,
    serverCpuS: around.serverCpuS,
    serverLruCpuS: around.serverLruCpuS,
    peakRssMb: m.maxRssKb / 1024,
    check,
    problems,
    load1: around.load1,
    othersCores: around.othersCores,
    idleCoreS: around.idleCoreS,
    mainWaitS: m.mainWaitS,
  };
}

/** What the loader itself says went wrong: exit status, its Done line, the renames. */
function loaderProblems(m: Measured, expect: Expectation, dir: string, logFile: string): string[] {
  const problems: string[] = [];
  if (m.timedOut) problems.push(`killed after the ${m.wallMs.toFixed(0)} ms time limit`);
  if (m.exitCode !== 0) problems.push(`exit status ${m.exitCode ?? m.signal}${m.stderr ? `: ${m.stderr.trim().slice(-300)}` : ''}`);
  if (m.source !== 'exit-hook') problems.push('no exit report from the child: CPU and RSS from /proc polling (lower bounds)');
  const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  const done = /Done: .*?lines=(\d+) loaded=(\d+) rejected=(\d+) failed_writes=(\d+)/.exec(text);
  if (!done) {
    problems.push(`no "Done:" line in the loader's log${text ? `; it ends: ${text.trim().split('\n').slice(-2).join(' / ').slice(0, 300)}` : ''}`);
  } else {
    const [lines, loaded, rejected, failed] = done.slice(1).map(Number) as [number, number, number, number];
    const wantRejected = Object.values(expect.rejected).reduce((a, n) => a + n, 0);
    if (lines !== expect.lines) problems.push(`loader counted ${lines} lines, the data has ${expect.lines}`);
    if (loaded !== expect.records) problems.push(`loader loaded ${loaded} records, the data has ${expect.records}`);
    if (rejected !== wantRejected) problems.push(`loader rejected ${rejected} lines, the oracle ${wantRejected}`);
    if (failed !== 0) problems.push(`${failed} failed writes`);
  }
  const pending = readdirSync(dir).filter((n) => n.endsWith('.tsv.gz') && !n.startsWith('.'));
  if (pending.length > 0) problems.push(`${pending.length} file(s) not marked done: ${pending.join(', ')}`);
  return problems;
}

function lastJson<T>(stdout: string): T | null {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l) as T;
    } catch {
      // not JSON
    }
  }
  return null;
}

async function runMicro(s: Settings): Promise<MicroResult[]> {
  const dir = join(DIST, 'micro');
  if (!existsSync(dir)) return [];
  const out: MicroResult[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.bench.js')).sort()) {
    log(`micro: ${name}`);
    // The micro benches read their own LINES/ROUNDS/…: do not hand them this run's settings.
    const env = { ...process.env };
    for (const k of ['FILES', 'LINES', 'REPEAT', 'BAD', 'SEED', 'WORKERS', 'SCALES', 'RUNS', 'SAMPLE', 'QUICK', 'OUT']) delete env[k];
    const m = await runMeasured({ script: join(dir, name), args: [], env, timeoutMs: s.timeoutMs, captureStdout: true });
    const text = m.stdout.trim();
    out.push({ name, ok: m.exitCode === 0, output: text.split('\n').slice(-20).join('\n') });
  }
  return out;
}

async function main(): Promise<number> {
  const s = readSettings();
  const machine = machineInfo(MEMCACHED_BIN);
  const loadStart = loadAverage();
  log(`settings: FILES=${s.files} LINES=${s.lines} REPEAT=${s.repeat} BAD=${s.bad} WORKERS=${s.workers.join(',')}${s.loaderArgs.length ? ` LOADER_ARGS='${s.loaderArgs.join(' ')}'` : ''} SCALES=${s.skipScaling ? 'skip' : s.scales.join(',')} RUNS=${s.runs}${s.quick ? ' (QUICK)' : ''}`);
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.memcached}; load ${loadStart.join(' ')}`);

  await removeStaleScratch();
  // ---- data: everything generated and prepared before any server starts or clock runs
  const base = { repeat: s.repeat, bad: s.bad, seed: s.seed };
  const main = await ensureDataset({ ...base, files: s.files, lines: s.lines }, { frames: true, sample: s.sample, log });
  const e = main.expect;
  log(`data: ${main.gen.files.length} files, ${e.lines} lines, ${e.records} records, ${e.distinctKeys} distinct keys, ${(main.gen.bytes / MiB).toFixed(0)} MiB raw, ${(main.gen.gzipBytes / MiB).toFixed(0)} MiB gzipped`);
  if (e.distinctKeysSource === 'oracle' && e.distinctKeys !== main.gen.distinctKeys) {
    log(`note: the generator counts ${main.gen.distinctKeys} distinct keys, the oracle ${e.distinctKeys}`);
  }
  const scales: Dataset[] = [];
  let scalingNote: string | null = null;
  if (!s.skipScaling) {
    for (const n of s.scales) {
      const spec = scaleSpec(n, base);
      const free = freeDiskBytes(CACHE_DIR);
      const need = n * 170; // ~160 bytes gzipped a line, plus the prepared expectation
      const cached = existsSync(join(CACHE_DIR, datasetName(spec), 'gen.json'));
      if (!cached && free !== null && free < need * 2) {
        const msg = `scale ${n}: skipped, ${(free / 2 ** 30).toFixed(1)} GiB free on disk, ~${((need * 2) / 2 ** 30).toFixed(1)} GiB wanted`;
        log(msg);
        scalingNote = scalingNote ? `${scalingNote}; ${msg}` : msg;
        continue;
      }
      scales.push(await ensureDataset(spec, { frames: false, sample: s.sample, log }));
    }
  }

  const maxRaw = Math.max(main.gen.bytes, ...scales.map((d) => d.gen.bytes));
  // Items take about their line's size (key + protobuf value + ~50 bytes of header); twice the raw
  // size split over four servers leaves room for slab rounding: no eviction may happen.
  const memoryMb = Math.max(1024, Math.ceil((2 * maxRaw) / 4 / MiB));
  log(`starting 4 × memcached -t 1 -m ${memoryMb}`);
  const servers = await Servers.start(memoryMb);
  const [ms, md] = await Promise.all([loadFrames(main.frames?.ms ?? []), loadFrames(main.frames?.md ?? [])]);
  const bench = new Bench(s, servers, main, ms, md);
  const rows: Row[] = [];
  const scaling: ScaleRow[] = [];
  let floor: FloorResult;
  let micro: MicroResult[] = [];
  try {
    // ---- 1. the floor
    log('floor (a): gunzip of every file, no parsing');
    const gz = await bench.gunzip();
    log(`  gunzip: ${gz.cpuS.toFixed(2)} s CPU, ${gz.wallS.toFixed(2)} s wall (${gz.method}; the thread pool took ${gz.poolCpuS.toFixed(2)} s CPU)`);
    log('floor (b): raw ingest of pre-rendered quiet sets, one connection per server');
    const ingSamples = await bench.ingest();
    const ing = pickMedian(ingSamples);
    // Medians of each part; the floor's range comes from each run's own floor.
    const ingestServerCpuS = median(ingSamples.map((x) => x.serverCpuS ?? NaN));
    const floorOf = (wallS: number, serverCpuS: number): number => Math.max(wallS, (gz.cpuS + serverCpuS) / s.cores);
    const floors = ingSamples.map((x) => floorOf(x.wallS, x.serverCpuS ?? NaN));
    log(`  ingest: ${ing.best.wallS.toFixed(2)} s wall, ${ingestServerCpuS.toFixed(2)} s server CPU${ing.problems.length ? `; ${ing.problems.join('; ')}` : ''}`);
    const floorS = floorOf(ing.best.wallS, ingestServerCpuS);
    floor = {
      gunzipCpuS: round2(gz.cpuS),
      gunzipWallS: round2(gz.wallS),
      gunzipMethod: gz.method,
      gunzipPoolCpuS: round2(gz.poolCpuS),
      ingestWallS: round2(ing.best.wallS),
      ingestServerCpuS: round2(ingestServerCpuS),
      ingestBytes: main.frames?.bytes ?? 0,
      cores: s.cores,
      floorS: round2(floorS),
      bound: floorS === ing.best.wallS ? 'ingest wall' : 'CPU',
      ok: gz.problems.length === 0 && ing.problems.length === 0,
      problems: [...gz.problems, ...ing.problems],
    };
    log(`  floor = ${floorS.toFixed(2)} s`);
    const rowOf = (name: string, kind: Row['kind'], picked: ReturnType<typeof pickMedian>, extra: Partial<Row> = {}): Row => {
      const b = picked.best;
      return {
        name,
        kind,
        lines: e.lines,
        bytes: main.gen.bytes,
        wallS: round2(b.wallS),
        wallRangeS: picked.range ? [round2(picked.range[0]), round2(picked.range[1])] : null,
        cpuS: b.cpuS === null ? null : round2(b.cpuS),
        serverCpuS: b.serverCpuS === null ? null : round2(b.serverCpuS),
        serverLruCpuS: b.serverLruCpuS === null ? null : round2(b.serverLruCpuS),
        peakRssMb: b.peakRssMb === null ? null : Math.round(b.peakRssMb),
        linesPerS: Math.round(e.lines / b.wallS),
        mbPerS: round2(main.gen.bytes / MiB / b.wallS),
        xFloor: round2(b.wallS / floorS),
        vsSlowest: 0,
        extrapolatedFrom: null,
        ok: picked.problems.length === 0,
        problems: picked.problems,
        notes: picked.notes,
        load1: b.load1,
        othersCores: round2(b.othersCores),
        idleCoreS: round2(b.idleCoreS),
        mainWaitS: b.mainWaitS === null ? null : round2(b.mainWaitS),
        ...extra,
      };
    };
    rows.push(
      rowOf(
        'floor',
        'floor',
        {
          best: { ...ing.best, wallS: floorS, cpuS: gz.cpuS, serverCpuS: ingestServerCpuS, serverLruCpuS: median(ingSamples.map((x) => x.serverLruCpuS ?? NaN)) },
          range: floors.length > 1 ? [Math.min(...floors), Math.max(...floors)] : null,
          problems: ing.problems,
          notes: ing.notes,
        },
        { note: `max(ingest wall, (gunzip CPU + server CPU) / ${s.cores}); CPU s is the gunzip's, server CPU s the raw ingest's` },
      ),
    );

    // ---- 2. memc-load
    const configs: { name: string; args: string[] }[] = [
      { name: 'memc-load (default)', args: [] },
      ...s.workers.map((n) => ({ name: `memc-load --workers ${n}`, args: ['--workers', String(n)] })),
    ];
    // Round-robin over the configurations, so that a drift in the machine's speed during the
    // benchmark (other guests on the host come and go) falls on every row alike.
    const samples: Sample[][] = configs.map(() => []);
    for (let i = 0; i < s.runs; i++) {
      for (const [k, c] of configs.entries()) {
        log(`${c.name}${s.runs > 1 ? ` (run ${i + 1}/${s.runs})` : ''}`);
        const smp = await bench.loader(main, c.args);
        log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, ${smp.peakRssMb?.toFixed(0)} MB peak RSS, others ${smp.othersCores.toFixed(2)} cores, idle ${smp.idleCoreS.toFixed(2)} core-s, main thread waited ${smp.mainWaitS?.toFixed(2) ?? '?'} s, ${smp.problems.length ? `FAILED: ${smp.problems.join('; ')}` : 'check ok'}`);
        (samples[k] as Sample[]).push(smp);
      }
    }
    for (const [k, c] of configs.entries()) {
      rows.push(rowOf(c.name, 'memc-load', pickMedian(samples[k] as Sample[]), { command: ['memc-load', ...s.loaderArgs, ...c.args].join(' ') }));
    }

    // ---- 2b. the loader alone: the servers' work off the cores
    const sinkSamples: Sample[] = [];
    for (let i = 0; i < s.runs; i++) {
      log(`memc-load (default) into null sinks${s.runs > 1 ? ` (run ${i + 1}/${s.runs})` : ''}`);
      const smp = await bench.loaderIntoSinks(main);
      log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, sinks ${smp.serverCpuS?.toFixed(2)} s CPU, ${smp.problems.length ? `FAILED: ${smp.problems.join('; ')}` : 'check ok'}`);
      sinkSamples.push(smp);
    }
    rows.push(
      rowOf('memc-load (default) into null sinks', 'diagnostic', pickMedian(sinkSamples), {
        command: ['memc-load', ...s.loaderArgs].join(' '),
        note:
          'not a target row: the same run with null servers (bench/lib/null-sink.ts) in place of memcached, which read the sets, store nothing and answer each `mn`; ' +
          'server CPU s is theirs. It shows what the loader does when the servers are not on its cores, as in production. Checked: the loader\'s counts and renames, and every sink received exactly the pre-rendered sets\' bytes',
      }),
    );

    // ---- 3. naive baseline
    if (!s.skipBaseline) {
      const limit = Math.min(s.baselineRecords, e.records);
      log(`memjs baseline: one awaited set per record, first ${limit} records`);
      const sliceExpect = await expectSlice(main, limit, s.sample);
      const b = await bench.memjs(limit, sliceExpect);
      const scale = b.lines > 0 ? e.lines / b.lines : NaN;
      const wallS = b.loopS * scale;
      log(`  ${b.lines} lines in ${b.loopS.toFixed(2)} s (${Math.round(b.lines / b.loopS)} lines/s) → ${wallS.toFixed(1)} s extrapolated; ${b.problems.length ? `FAILED: ${b.problems.join('; ')}` : 'check ok'}`);
      const extrapolated = limit < e.records;
      rows.push(
        rowOf(
          'memjs, one awaited set per record',
          'baseline',
          { best: { ...b, wallS, cpuS: b.loopCpuS * scale, serverCpuS: (b.serverCpuS ?? NaN) * scale, serverLruCpuS: (b.serverLruCpuS ?? NaN) * scale, idleCoreS: b.idleCoreS * scale, mainWaitS: b.mainWaitS === null ? null : b.mainWaitS * scale }, range: null, problems: [...b.problems], notes: [...(b.check?.notes ?? [])] },
          {
            extrapolatedFrom: extrapolated ? b.records : null,
            note: extrapolated
              ? `extrapolated from ${b.records.toLocaleString('en')} records (${b.lines.toLocaleString('en')} lines, ${b.loopS.toFixed(2)} s); peak RSS is the slice's`
              : undefined,
          },
        ),
      );
    }

    // ---- 4. scaling
    for (const ds of scales) {
      log(`scaling: memc-load default on ${ds.expect.lines} lines (${ds.gen.files.length} file(s))`);
      const smp = await bench.loader(ds, []);
      const lines = ds.expect.lines;
      log(`  ${smp.wallS.toFixed(2)} s, ${((smp.wallS / lines) * 1e6).toFixed(2)} µs/line, ${smp.peakRssMb?.toFixed(0)} MB peak RSS, ${smp.problems.length ? `FAILED: ${smp.problems.join('; ')}` : 'check ok'}`);
      scaling.push({
        lines,
        files: ds.gen.files.length,
        bytes: ds.gen.bytes,
        wallS: round2(smp.wallS),
        cpuS: smp.cpuS === null ? null : round2(smp.cpuS),
        usPerLine: round2((smp.wallS / lines) * 1e6),
        cpuUsPerLine: smp.cpuS === null ? null : round2((smp.cpuS / lines) * 1e6),
        peakRssMb: smp.peakRssMb === null ? null : Math.round(smp.peakRssMb),
        linesPerS: Math.round(lines / smp.wallS),
        ok: smp.problems.length === 0,
        problems: smp.problems,
        notes: [...(smp.check?.notes ?? [])],
        load1: smp.load1,
        othersCores: round2(smp.othersCores),
      });
    }
    if (!s.skipScaling && !s.scales.some((n) => n >= 10_000_000)) {
      const msg = '10 M lines not run (add 10000000 to SCALES: ~3 GB raw, ~1.6 GB gzipped, generated once into the cache)';
      scalingNote = scalingNote ? `${scalingNote}; ${msg}` : msg;
    }
  } finally {
    await servers.stop();
    killChildren();
    await rm(bench.scratchRoot, { recursive: true, force: true });
  }
  if (s.micro) micro = await runMicro(s);

  const slowest = Math.min(...rows.map((r) => r.linesPerS));
  const finalRows = rows.map((r) => ({ ...r, vsSlowest: round2(r.linesPerS / slowest) }));
  const result: BenchResult = {
    version: RESULT_VERSION,
    date: new Date().toISOString(),
    quick: s.quick,
    loader: loaderRevision(),
    machine,
    load: { start: loadStart, end: loadAverage() },
    settings: {
      FILES: s.files,
      LINES: s.lines,
      REPEAT: s.repeat,
      BAD: s.bad,
      SEED: s.seed,
      WORKERS: s.workers,
      LOADER_ARGS: s.loaderArgs.join(' '),
      SCALES: s.skipScaling ? 'skipped' : s.scales,
      BASELINE_RECORDS: s.skipBaseline ? 'skipped' : s.baselineRecords,
      RUNS: s.runs,
      SAMPLE: s.sample,
      WARM: s.warm,
      WAIT_QUIET_S: s.waitQuietMs / 1000,
      UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] ?? 'default (4)',
    },
    dataset: {
      name: main.name,
      files: main.gen.files.length,
      linesPerFile: s.lines,
      lines: e.lines,
      records: e.records,
      distinctKeys: e.distinctKeys,
      rejected: e.rejected,
      rawBytes: main.gen.bytes,
      gzipBytes: main.gen.gzipBytes,
    },
    memcached: { memoryMb, threads: 1, warm: s.warm },
    floor,
    rows: finalRows,
    scaling,
    scalingNote,
    micro,
    seconds: round2((performance.now() - started) / 1000),
  };
  const outPath = resolve(ROOT, s.out);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`);
  printReport(result);
  process.stdout.write(`\nwritten: ${relative(process.cwd(), outPath) || outPath}; regenerate the docs with: npm run bench:doc\n`);
  const failed = finalRows.filter((r) => !r.ok).length + scaling.filter((r) => !r.ok).length + (floor.ok ? 0 : 1);
  return failed > 0 ? 1 : 0;
}

function printReport(r: BenchResult): void {
  const m = r.machine;
  const d = r.dataset;
  const out: string[] = [];
  out.push('');
  out.push(`memc-load benchmark  ${r.date}${r.quick ? '  (QUICK)' : ''}  loader ${r.loader}`);
  out.push(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}; node ${m.node}; ${m.memcached}`);
  out.push(`load average: start ${r.load.start.join(' ')}, end ${r.load.end.join(' ')}`);
  out.push(
    `data: ${d.files} × ${d.linesPerFile.toLocaleString('en')} lines (${d.lines.toLocaleString('en')} non-blank, ${d.records.toLocaleString('en')} records, ` +
      `${d.distinctKeys.toLocaleString('en')} distinct keys), ${(d.rawBytes / MiB).toFixed(0)} MiB raw, ${(d.gzipBytes / MiB).toFixed(0)} MiB gzipped`,
  );
  out.push(`servers: 4 × memcached -t 1 -m ${r.memcached.memoryMb}, restarted${r.memcached.warm ? ' and warmed' : ''} before every timed run`);
  out.push(`settings: ${Object.entries(r.settings).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ')}`);
  out.push('');
  out.push('floor');
  out.push(textTable(FLOOR_HEADERS, floorCells(r.floor)));
  out.push('');
  out.push(textTable(ROW_HEADERS, r.rows.map(rowCells)));
  for (const row of r.rows) if (row.note) out.push(`  ${row.extrapolatedFrom !== null ? '* ' : ''}${row.name}: ${row.note}`);
  for (const row of r.rows) for (const p of row.problems) out.push(`  FAILED ${row.name}: ${p}`);
  for (const row of r.rows) for (const p of row.notes) out.push(`  note ${row.name}: ${p}`);
  for (const p of r.floor.problems) out.push(`  FAILED floor: ${p}`);
  if (r.scaling.length > 0) {
    out.push('');
    out.push('scaling: memc-load default settings');
    out.push(textTable(SCALE_HEADERS, r.scaling.map(scaleCells)));
    for (const row of r.scaling) for (const p of row.problems) out.push(`  FAILED ${row.lines} lines: ${p}`);
    for (const row of r.scaling) for (const p of row.notes) out.push(`  note ${row.lines} lines: ${p}`);
  }
  if (r.scalingNote) out.push(`  ${r.scalingNote}`);
  for (const mb of r.micro) out.push('', `micro: ${mb.name}${mb.ok ? '' : ' (FAILED)'}`, mb.output);
  out.push(`\ntotal ${r.seconds.toFixed(0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Scratch folders of earlier runs that were killed (their pid is gone): hard links, cheap to drop. */
async function removeStaleScratch(): Promise<void> {
  if (!existsSync(CACHE_DIR)) return;
  for (const name of readdirSync(CACHE_DIR)) {
    const m = /^scratch-(\d+)$/.exec(name);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    await rm(join(CACHE_DIR, name), { recursive: true, force: true });
  }
}

/** Which loader was measured: BENCH_COMMIT, or the git commit, `+dirty` when src/ or bin/ differ from it. */
function loaderRevision(): string {
  if (process.env['BENCH_COMMIT']) return process.env['BENCH_COMMIT'];
  try {
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'bin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

function freeDiskBytes(dir: string): number | null {
  try {
    const st = statfsSync(existsSync(dir) ? dir : ROOT);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
  killChildren();
  process.exitCode = 1;
}
