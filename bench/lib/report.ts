/**
 * The benchmark's result (bench/results/latest.json), its text tables and the text report
 * `npm run bench` prints. bench/doc.ts renders the same JSON as docs/benchmarks.md, so both
 * read these types and tables.
 */
import { cpuTargetText, type NodesResult } from './nodes.js';
import type { MachineInfo } from './proc.js';

export const RESULT_VERSION = 1;

export const MiB = 1024 * 1024;

export interface Row {
  readonly name: string;
  /** `diagnostic`: a row that explains the others and is held to no target (the null-sink run). */
  readonly kind: 'floor' | 'memc-load' | 'baseline' | 'diagnostic';
  /** The command line, for memc-load rows. */
  readonly command?: string;
  /** The Node that ran it (`v22.11.0`) when not the harness's (NODES); absent otherwise. */
  readonly node?: string;
  /** Non-blank lines the rates are computed from. */
  readonly lines: number;
  /** Uncompressed bytes of those lines. */
  readonly bytes: number;
  /** Wall seconds (median of the runs). */
  readonly wallS: number;
  /** Fastest and slowest of the runs, when there were several. */
  readonly wallRangeS: readonly [number, number] | null;
  /** user+sys CPU seconds of the measured process (workers included). */
  readonly cpuS: number | null;
  /** CPU seconds of the four memcached servers during the run. */
  readonly serverCpuS: number | null;
  /** The part of serverCpuS spent by memcached's LRU maintainer threads. */
  readonly serverLruCpuS: number | null;
  readonly peakRssMb: number | null;
  readonly linesPerS: number;
  /**
   * Lines per CPU-second of the measured process (issue #19's yardstick: CPU is what a backfill
   * pays for, and it holds on a loaded machine where wall time does not). Absent in older results.
   */
  readonly linesPerCpuS?: number | null;
  /** This row's CPU ÷ the default single-host row's, for the same lines (the cluster's price). */
  readonly cpuVsDefault?: number | null;
  readonly mbPerS: number;
  /** wall / floor. */
  readonly xFloor: number;
  /** This row's lines/s ÷ the slowest row's. */
  readonly vsSlowest: number;
  /** Set when the figures are extrapolated from a slice: the records actually loaded. */
  readonly extrapolatedFrom: number | null;
  readonly ok: boolean;
  readonly problems: readonly string[];
  /** Not failures: e.g. memcached's total_items grew by more than the sets (internal relinks). */
  readonly notes: readonly string[];
  /** 1-minute load average just before the run. */
  readonly load1: number;
  /** Cores' worth of CPU that other processes on the machine used during the run (median run). */
  readonly othersCores: number;
  /** CPU seconds the machine's cores sat idle during the (median) run, all cores together. */
  readonly idleCoreS?: number;
  /** Seconds the measured process's main thread was runnable but waited for a CPU. */
  readonly mainWaitS?: number | null;
  readonly note?: string;
}

export interface FloorResult {
  readonly gunzipCpuS: number;
  readonly gunzipWallS: number;
  /** The cheaper way of the two measured: `inline` (on the reading thread) or `pool` (Node's zlib stream). */
  readonly gunzipMethod?: string;
  /** The `pool` way's CPU, for comparison. */
  readonly gunzipPoolCpuS?: number;
  readonly ingestWallS: number;
  readonly ingestServerCpuS: number;
  readonly ingestBytes: number;
  readonly cores: number;
  /** max(ingest wall, (gunzip CPU + server CPU) / cores) */
  readonly floorS: number;
  readonly bound: 'ingest wall' | 'CPU';
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export interface ScaleRow {
  readonly lines: number;
  readonly files: number;
  readonly bytes: number;
  readonly wallS: number;
  readonly cpuS: number | null;
  readonly usPerLine: number;
  readonly cpuUsPerLine: number | null;
  readonly peakRssMb: number | null;
  readonly linesPerS: number;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly notes: readonly string[];
  readonly load1: number;
  readonly othersCores: number;
}

export interface MicroResult {
  readonly name: string;
  readonly ok: boolean;
  readonly output: string;
}

export interface BenchResult {
  readonly version: number;
  readonly date: string;
  readonly quick: boolean;
  /** The loader measured: git commit (`+dirty` with local changes to src/ or bin/). */
  readonly loader: string;
  readonly machine: MachineInfo;
  readonly load: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly settings: Readonly<Record<string, unknown>>;
  readonly dataset: {
    readonly name: string;
    readonly files: number;
    readonly linesPerFile: number;
    readonly lines: number;
    readonly records: number;
    readonly distinctKeys: number;
    readonly rejected: Readonly<Record<string, number>>;
    readonly rawBytes: number;
    readonly gzipBytes: number;
  };
  readonly memcached: { readonly memoryMb: number; readonly threads: number; readonly warm: boolean };
  readonly floor: FloorResult;
  readonly rows: readonly Row[];
  /** The Nodes the default row ran on (NODES): the harness's, the others, those not had. Absent in older results. */
  readonly nodes?: NodesResult;
  readonly scaling: readonly ScaleRow[];
  readonly scalingNote: string | null;
  readonly micro: readonly MicroResult[];
  readonly seconds: number;
}

const fix = (n: number | null, d: number): string => (n === null || !Number.isFinite(n) ? '—' : n.toFixed(d));

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

export function wallText(r: Row): string {
  const base = fix(r.wallS, 2);
  if (!r.wallRangeS) return base;
  const [lo, hi] = r.wallRangeS;
  return `${base} (${fix(lo, 2)}–${fix(hi, 2)})`;
}

/** The single host with default settings: what the other rows' CPU is compared with. */
export const DEFAULT_ROW = 'memc-load (default)';

export const ROW_HEADERS = ['configuration', 'lines/s', 'MB/s', 'wall s', 'CPU s', 'lines/CPU-s', 'CPU × default', 'server CPU s', 'of it LRU s', 'peak RSS MB', '× floor', 'vs slowest', 'idle core-s', 'main waited s', 'others', 'check'];

export function rowCells(r: Row): string[] {
  return [
    r.extrapolatedFrom === null ? r.name : `${r.name} *`,
    fmtInt(r.linesPerS),
    fix(r.mbPerS, 1),
    wallText(r),
    fix(r.cpuS, 2),
    r.linesPerCpuS === undefined || r.linesPerCpuS === null ? '—' : fmtInt(r.linesPerCpuS),
    fix(r.cpuVsDefault ?? null, 2),
    fix(r.serverCpuS, 2),
    fix(r.serverLruCpuS, 2),
    fix(r.peakRssMb, 0),
    fix(r.xFloor, 2),
    `${fix(r.vsSlowest, 1)}×`,
    fix(r.idleCoreS ?? null, 2),
    fix(r.mainWaitS ?? null, 2),
    fix(r.othersCores, 2),
    r.ok ? 'ok' : 'FAILED',
  ];
}

export const SCALE_HEADERS = ['lines', 'files', 'wall s', 'µs/line', 'µs/line added', 'CPU µs/line', 'lines/s', 'peak RSS MB', 'others', 'check'];

/**
 * One scaling row's cells. *µs/line added* is the wall time this size adds over the next
 * smaller one, per added line: the per-line cost without the fixed start-up (Node, modules,
 * worker threads, JIT warm-up) that dominates the smallest size.
 */
export function scaleCells(s: ScaleRow, i: number, rows: readonly ScaleRow[]): string[] {
  const prev = i > 0 ? rows[i - 1] : undefined;
  const added = prev && s.lines > prev.lines ? ((s.wallS - prev.wallS) / (s.lines - prev.lines)) * 1e6 : null;
  return [
    fmtInt(s.lines),
    String(s.files),
    fix(s.wallS, 2),
    fix(s.usPerLine, 2),
    fix(added, 2),
    fix(s.cpuUsPerLine, 2),
    fmtInt(s.linesPerS),
    fix(s.peakRssMb, 0),
    fix(s.othersCores, 2),
    s.ok ? 'ok' : 'FAILED',
  ];
}

export const FLOOR_HEADERS = ['part', 'wall s', 'CPU s'];

export function floorCells(f: FloorResult): string[][] {
  return [
    [`(a) gunzip, no parsing${f.gunzipMethod ? ` (${f.gunzipMethod}; pool: ${fix(f.gunzipPoolCpuS ?? null, 2)} s CPU)` : ''}`, fix(f.gunzipWallS, 2), fix(f.gunzipCpuS, 2)],
    ['(b) raw ingest, 4 servers', fix(f.ingestWallS, 2), `${fix(f.ingestServerCpuS, 2)} (servers)`],
    [`floor = max(${fix(f.ingestWallS, 2)}, (${fix(f.gunzipCpuS, 2)} + ${fix(f.ingestServerCpuS, 2)}) / ${f.cores})`, fix(f.floorS, 2), `bound: ${f.bound}`],
  ];
}

/** The result as the text `npm run bench` prints on stdout. */
export function textReport(r: BenchResult): string {
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
  for (const x of r.nodes?.skipped ?? []) out.push(`  Node ${x.spec} not run: ${x.why}`);
  const cpu = cpuTargetText(r.rows, DEFAULT_ROW, r.nodes?.running ?? r.machine.node, r.nodes?.skipped);
  if (cpu) out.push('', cpu.replace(/\*\*/g, ''));
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
  return out.join('\n');
}

/** A plain aligned text table; numbers right-aligned. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (s: string): boolean => /^[\d,.–()× *—-]+$/.test(s) && /\d/.test(s);
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric(c) && i > 0 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A GitHub markdown table. */
export function mdTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const align = headers.map((_, i) => (i === 0 ? '---' : '---:'));
  return [headers, align, ...rows].map((r) => `| ${r.map(esc).join(' | ')} |`).join('\n');
}
