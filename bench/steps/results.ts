/**
 * The record of a benchmark run: what it began on (machine, load, settings: logged first), and
 * at the end the result JSON (OUT, default bench/results/latest.json, which `npm run bench:doc`
 * renders) and the same tables on stdout (textReport).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { MEMCACHED_BIN } from '../../test/helpers/memcached.js';
import type { Dataset } from '../lib/dataset.js';
import { elapsedS, log } from '../lib/log.js';
import { loadAverage, machineInfo, round2, type MachineInfo } from '../lib/proc.js';
import { DEFAULT_ROW, RESULT_VERSION, textReport, type BenchResult, type Row } from '../lib/report.js';
import { ROOT } from '../lib/rig.js';
import { DEFAULT_NODE_MAJORS, specText } from '../lib/nodes.js';
import type { Settings } from '../lib/settings.js';

export interface Start {
  readonly machine: MachineInfo;
  readonly loadStart: [number, number, number];
}

/** The machine and its load as the benchmark begins, logged with the settings. */
export function begin(s: Settings): Start {
  const machine = machineInfo(MEMCACHED_BIN);
  const loadStart = loadAverage();
  log(`settings: FILES=${s.files} LINES=${s.lines} REPEAT=${s.repeat} BAD=${s.bad} WORKERS=${s.workers.join(',')} NODES=${s.nodes.map(specText).join(',') || 'none'}${s.loaderArgs.length ? ` LOADER_ARGS='${s.loaderArgs.join(' ')}'` : ''} SCALES=${s.skipScaling ? 'skip' : s.scales.join(',')} RUNS=${s.runs}${s.quick ? ' (QUICK)' : ''}`);
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.memcached}; load ${loadStart.join(' ')}`);
  return { machine, loadStart };
}

/** What the steps measured: the result's own parts, the main data set and the servers' memory. */
export type Measurements = Pick<BenchResult, 'floor' | 'scaling' | 'scalingNote' | 'micro' | 'nodes'> & {
  readonly main: Dataset;
  readonly memoryMb: number;
  /** The main table's rows, `vsSlowest` not yet filled in. */
  readonly rows: readonly Row[];
};

/** Writes the result JSON and prints the tables; the exit status: 1 when a row, scaling row or the floor failed its check. */
export async function writeResults(s: Settings, start: Start, r: Measurements): Promise<number> {
  const { main } = r;
  const e = main.expect;
  const slowest = Math.min(...r.rows.map((x) => x.linesPerS));
  // The floor's CPU is its gunzip's alone: lines per CPU-second would flatter nothing there.
  const loaderCpu = (x: Row): number | null => (x.kind === 'floor' || x.cpuS === null || x.cpuS <= 0 ? null : x.cpuS);
  const defCpu = r.rows.find((x) => x.name === DEFAULT_ROW);
  const finalRows = r.rows.map((x) => {
    const cpu = loaderCpu(x);
    const base = defCpu === undefined ? null : loaderCpu(defCpu);
    return {
      ...x,
      vsSlowest: round2(x.linesPerS / slowest),
      linesPerCpuS: cpu === null ? null : Math.round(x.lines / cpu),
      cpuVsDefault: cpu === null || base === null ? null : round2(cpu / base),
    };
  });
  const result: BenchResult = {
    version: RESULT_VERSION,
    date: new Date().toISOString(),
    quick: s.quick,
    loader: loaderRevision(),
    machine: start.machine,
    load: { start: start.loadStart, end: loadAverage() },
    settings: {
      ...dataSettings(s),
      WORKERS: s.workers,
      CLUSTER_WORKERS: s.skipCluster ? 'skipped' : s.clusterWorkers,
      NODES: process.env['NODES'] ?? `default (${DEFAULT_NODE_MAJORS.join(',')})`,
      LOADER_ARGS: s.loaderArgs.join(' '),
      SCALES: s.skipScaling ? 'skipped' : s.scales,
      BASELINE_RECORDS: s.skipBaseline ? 'skipped' : s.baselineRecords,
      ...runSettings(s),
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
    memcached: { memoryMb: r.memoryMb, threads: 1, warm: s.warm },
    floor: r.floor,
    rows: finalRows,
    ...(r.nodes ? { nodes: r.nodes } : {}),
    scaling: r.scaling,
    scalingNote: r.scalingNote,
    micro: r.micro,
    seconds: round2(elapsedS()),
  };
  const outPath = resolve(ROOT, s.out);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${textReport(result)}\n`);
  process.stdout.write(`\nwritten: ${relative(process.cwd(), outPath) || outPath}; regenerate the docs with: npm run bench:doc\n`);
  const failed = finalRows.filter((x) => !x.ok).length + r.scaling.filter((x) => !x.ok).length + (r.floor.ok ? 0 : 1);
  return failed > 0 ? 1 : 0;
}

/** The settings that make the data set, as the result records them. */
export function dataSettings(s: Settings): Record<string, number> {
  return { FILES: s.files, LINES: s.lines, REPEAT: s.repeat, BAD: s.bad, SEED: s.seed };
}

/** The settings of the timed runs themselves, as the result records them. */
export function runSettings(s: Settings): Record<string, number | boolean> {
  return { RUNS: s.runs, SAMPLE: s.sample, WARM: s.warm, WAIT_QUIET_S: s.waitQuietMs / 1000 };
}

/** Which loader was measured: BENCH_COMMIT, or the git commit, `+dirty` when src/ or bin/ differ from it. */
export function loaderRevision(): string {
  if (process.env['BENCH_COMMIT']) return process.env['BENCH_COMMIT'];
  try {
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'bin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}
