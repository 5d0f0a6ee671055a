/**
 * Renderers of a finished run: the summary table for people, the JSON report for programs.
 * Pure functions of the RunReport, so both are tested without running anything.
 */
import { basename } from 'node:path';
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { REJECT_REASONS } from '../record/reasons.js';
import type { FileReport } from './file-report.js';
import type { RunReport } from './run-report.js';

/** Bumped on any change a consumer could notice; docs/report.schema.json describes it. */
export const REPORT_SCHEMA_VERSION = 1;

export interface JsonReport {
  readonly schema: 'memc-load/report';
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly tool: { readonly name: 'memc-load'; readonly version: string };
  readonly finishedAt: string;
  readonly exitCode: number;
  readonly options: {
    readonly pattern: string;
    readonly dry: boolean;
    readonly workers: number;
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
}

export function toJsonReport(report: RunReport, options: RunOptions, version: string, exitCode: number, now = new Date()): JsonReport {
  return {
    schema: 'memc-load/report',
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'memc-load', version },
    finishedAt: now.toISOString(),
    exitCode,
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
  };
}

const VERDICT: Readonly<Record<FileReport['outcome'], string>> = {
  succeeded: 'ok',
  failed_data: 'FAILED data',
  failed_load: 'FAILED load',
};

/** The end-of-run table: one row per file, then totals. */
export function renderSummary(report: RunReport): string {
  const head = ['file', 'lines', 'loaded', 'rejected', 'by reason', 'failed writes', 'error rate', 'time', 'lines/s', 'renamed', 'outcome'];
  const reasons = (r: Readonly<Record<string, number>>) =>
    REJECT_REASONS.filter((k) => (r[k] ?? 0) > 0).map((k) => `${k}=${r[k]}`).join(' ') || '-';
  const rows = report.files.map((f) => [
    basename(f.path),
    String(f.lines),
    String(f.loaded),
    String(f.rejectedTotal),
    reasons(f.rejected),
    String(f.failedWritesTotal),
    pct(f.errorRate),
    `${f.seconds.toFixed(2)}s`,
    String(f.linesPerSecond),
    f.renamed ? 'yes' : 'no',
    VERDICT[f.outcome],
  ]);
  const t = report.totals;
  const totalRate = t.lines === 0 ? 0 : (t.rejectedTotal + t.failedWrites) / t.lines;
  rows.push([
    `total (${t.files} files)`,
    String(t.lines),
    String(t.loaded),
    String(t.rejectedTotal),
    reasons(t.rejected),
    String(t.failedWrites),
    pct(totalRate),
    `${report.seconds.toFixed(2)}s`,
    String(report.linesPerSecond),
    `${t.renamed}/${t.files}`,
    t.failed === 0 ? 'ok' : `${t.failed} FAILED`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const numeric = new Set([1, 2, 3, 5, 6, 7, 8]);
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const body = rows.map(fmt);
  return [fmt(head), rule, ...body.slice(0, -1), rule, body[body.length - 1]].join('\n') + '\n';
}

function pct(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}
