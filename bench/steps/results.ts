/**
 * The record of a benchmark run: what it began on (machine, load, settings: logged first), and
 * at the end the result JSON (OUT, default bench/results/latest.json, which `npm run bench:doc`
 * renders) and the same tables on stdout.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { MEMCACHED_BIN } from '../../test/helpers/memcached.js';
import type { Dataset } from '../lib/dataset.js';
import { elapsedS, log } from '../lib/log.js';
import { loadAverage, machineInfo, round2, type MachineInfo } from '../lib/proc.js';
import {
  FLOOR_HEADERS,
  floorCells,
  MiB,
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
} from '../lib/report.js';
import { ROOT } from '../lib/rig.js';
import type { Settings } from '../lib/settings.js';

export interface Start {
  readonly machine: MachineInfo;
  readonly loadStart: [number, number, number];
}

/** The machine and its load as the benchmark begins, logged with the settings. */
export function begin(s: Settings): Start {
  const machine = machineInfo(MEMCACHED_BIN);
  const loadStart = loadAverage();
  log(`settings: FILES=${s.files} LINES=${s.lines} REPEAT=${s.repeat} BAD=${s.bad} WORKERS=${s.workers.join(',')}${s.loaderArgs.length ? ` LOADER_ARGS='${s.loaderArgs.join(' ')}'` : ''} SCALES=${s.skipScaling ? 'skip' : s.scales.join(',')} RUNS=${s.runs}${s.quick ? ' (QUICK)' : ''}`);
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.memcached}; load ${loadStart.join(' ')}`);
  return { machine, loadStart };
}

export interface Measurements {
  readonly main: Dataset;
  readonly memoryMb: number;
  readonly floor: FloorResult;
  readonly rows: readonly Row[];
  readonly scaling: readonly ScaleRow[];
  readonly scalingNote: string | null;
  readonly micro: readonly MicroResult[];
}

/** Writes the result JSON and prints the tables; the exit status: 1 when a row, scaling row or the floor failed its check. */
export async function writeResults(s: Settings, start: Start, r: Measurements): Promise<number> {
  const { main } = r;
  const e = main.expect;
  const slowest = Math.min(...r.rows.map((x) => x.linesPerS));
  const finalRows = r.rows.map((x) => ({ ...x, vsSlowest: round2(x.linesPerS / slowest) }));
  const result: BenchResult = {
    version: RESULT_VERSION,
    date: new Date().toISOString(),
    quick: s.quick,
    loader: loaderRevision(),
    machine: start.machine,
    load: { start: start.loadStart, end: loadAverage() },
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
    memcached: { memoryMb: r.memoryMb, threads: 1, warm: s.warm },
    floor: r.floor,
    rows: finalRows,
    scaling: r.scaling,
    scalingNote: r.scalingNote,
    micro: r.micro,
    seconds: round2(elapsedS()),
  };
  const outPath = resolve(ROOT, s.out);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`);
  printReport(result);
  process.stdout.write(`\nwritten: ${relative(process.cwd(), outPath) || outPath}; regenerate the docs with: npm run bench:doc\n`);
  const failed = finalRows.filter((x) => !x.ok).length + r.scaling.filter((x) => !x.ok).length + (r.floor.ok ? 0 : 1);
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
