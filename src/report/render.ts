/**
 * Renderers of a finished run: the summary table for people, the JSON report for programs.
 * Pure functions of the RunReport, so both are tested without running anything.
 */
import { basename } from 'node:path';
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { REJECT_REASONS } from '../record/reasons.js';
import type { FileReport } from './file-report.js';
import { describeLag } from './lag.js';
import type { RunReport } from './run-report.js';
import { alignColumns, widest, wrap } from './text-layout.js';

/** Bumped on any change a consumer could notice; docs/report.schema.json describes it. */
export const REPORT_SCHEMA_VERSION = 1;

export interface JsonReport {
  readonly schema: 'memc-load/report';
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly tool: { readonly name: 'memc-load'; readonly version: string };
  readonly finishedAt: string;
  readonly exitCode: number;
  /** --dry: nothing was written; `totals.records` is what would have been loaded. */
  readonly dry: boolean;
  readonly options: {
    readonly pattern: string;
    readonly dry: boolean;
    readonly workers: number | 'auto';
    readonly maxErrorRate: number;
    readonly servers: Readonly<Record<string, string>>;
    readonly distribution: RunOptions['distribution'];
  };
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly seconds: number;
  readonly linesPerSecond: number;
  readonly totals: RunReport['totals'];
  readonly files: readonly FileReport[];
  readonly nodes: RunReport['nodes'];
  /** How far behind the folder is as the run ended; null when it could not be read. */
  readonly lag: RunReport['lag'];
}

export function toJsonReport(report: RunReport, options: RunOptions, version: string, exitCode: number, now = new Date()): JsonReport {
  return {
    schema: 'memc-load/report',
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'memc-load', version },
    finishedAt: now.toISOString(),
    exitCode,
    dry: report.dry,
    options: {
      pattern: options.pattern,
      dry: options.dry,
      workers: options.workers,
      maxErrorRate: options.maxErrorRate,
      servers: Object.fromEntries(DEVICE_TYPES.map((t) => [t, options.servers[t].label])),
      distribution: options.distribution,
    },
    ok: report.ok,
    interrupted: report.interrupted,
    seconds: report.seconds,
    linesPerSecond: report.linesPerSecond,
    totals: report.totals,
    files: report.files,
    nodes: report.nodes,
    lag: report.lag,
  };
}

const VERDICT: Readonly<Record<FileReport['outcome'], string>> = {
  succeeded: 'ok',
  failed_data: 'FAILED data',
  failed_load: 'FAILED load',
};

/** The summary's columns; `drop` orders those given up, first first, when the terminal is too narrow. */
const COLUMNS = ['file', 'lines', 'loaded', 'rejected', 'by reason', 'failed writes', 'error rate', 'time', 'lines/s', 'renamed', 'outcome'] as const;
const NUMERIC = new Set(['lines', 'loaded', 'rejected', 'failed writes', 'error rate', 'time', 'lines/s']);
const DROP_ORDER = ['lines/s', 'time', 'loaded', 'by reason'] as const;

interface SummaryRow {
  readonly cells: readonly string[];
  /** The block layout's heading: the file (or totals) and its verdict. */
  readonly title: string;
}

/**
 * The end-of-run summary for a terminal `columns` wide: the full table (one row per file, then
 * totals) when it fits, else the same table without its least needed columns, else one block per
 * file. A line that wraps on the terminal scrambles the table, so no line is ever wider than
 * `columns`. Without a width (a file, a test), the full table.
 */
export function renderSummary(report: RunReport, columns = Number.POSITIVE_INFINITY): string {
  return summaryTable(report, columns) + lagLines(report, columns);
}

function summaryTable(report: RunReport, columns: number): string {
  const rows = summaryRows(report);
  for (let dropped = 0; dropped <= DROP_ORDER.length; dropped++) {
    const text = table(rows, new Set(DROP_ORDER.slice(0, dropped)), report.dry);
    if (widest(text) <= columns) return text;
  }
  return blocks(rows, Math.max(20, columns), report.dry);
}

/** Under the table: how far behind the folder is now, wrapped to the terminal. */
function lagLines(report: RunReport, columns: number): string {
  if (report.lag === null) return '';
  const lines = wrap([`lag: ${describeLag(report.lag)}`], Math.max(20, columns), '');
  return `${lines.join('\n')}\n`;
}

function summaryRows(report: RunReport): SummaryRow[] {
  // A dry run loads nothing: its column is what it would load.
  const loaded = (f: { loaded: number; records: number }) => String(report.dry ? f.records : f.loaded);
  const reasons = (r: Readonly<Record<string, number>>) =>
    REJECT_REASONS.filter((k) => (r[k] ?? 0) > 0).map((k) => `${k}=${r[k]}`).join(' ') || '-';
  const rows: SummaryRow[] = report.files.map((f) => ({
    title: `${basename(f.path)}: ${VERDICT[f.outcome]}, renamed ${f.renamed ? 'yes' : 'no'}`,
    cells: [
      basename(f.path),
      String(f.lines),
      loaded(f),
      String(f.rejectedTotal),
      reasons(f.rejected),
      String(f.failedWritesTotal),
      pct(f.errorRate),
      `${f.seconds.toFixed(2)}s`,
      String(f.linesPerSecond),
      f.renamed ? 'yes' : 'no',
      VERDICT[f.outcome],
    ],
  }));
  const t = report.totals;
  const totalRate = t.lines === 0 ? 0 : (t.rejectedTotal + t.failedWrites) / t.lines;
  const outcome = t.failed === 0 ? 'ok' : `${t.failed} FAILED`;
  rows.push({
    title: `total (${t.files} files): ${outcome}, renamed ${t.renamed}/${t.files}`,
    cells: [
      `total (${t.files} files)`,
      String(t.lines),
      loaded(t),
      String(t.rejectedTotal),
      reasons(t.rejected),
      String(t.failedWrites),
      pct(totalRate),
      `${report.seconds.toFixed(2)}s`,
      String(report.linesPerSecond),
      `${t.renamed}/${t.files}`,
      outcome,
    ],
  });
  return rows;
}

function table(rows: readonly SummaryRow[], dropped: ReadonlySet<string>, dry: boolean): string {
  const keep = COLUMNS.map((c, i) => [c, i] as const).filter(([c]) => !dropped.has(c));
  const pick = (cells: readonly string[]) => keep.map(([, i]) => cells[i] as string);
  const head = keep.map(([c]) => (dry && c === 'loaded' ? 'would load' : c));
  const t = alignColumns(head, rows.map((r) => pick(r.cells)), (i) => NUMERIC.has(keep[i]?.[0] as string));
  return [t.head, t.rule, ...t.rows.slice(0, -1), t.rule, t.rows[t.rows.length - 1]].join('\n') + '\n';
}

/** One block per file: its verdict, then its figures as `name value` items wrapped to the width. */
function blocks(rows: readonly SummaryRow[], columns: number, dry: boolean): string {
  const out: string[] = [];
  for (const r of rows) {
    const [, lines, loaded, rejected, reasons, failed, rate, time, lps] = r.cells as string[];
    const items = [
      `lines ${lines}`,
      `${dry ? 'would load' : 'loaded'} ${loaded}`,
      reasons === '-' ? `rejected ${rejected}` : `rejected ${rejected} (${reasons})`,
      `failed writes ${failed}`,
      `error rate ${rate}`,
      `time ${time}`,
      `${lps} lines/s`,
    ];
    out.push(...wrap([r.title], columns, ''), ...wrap(items, columns, '  '));
  }
  return `${out.join('\n')}\n`;
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}
