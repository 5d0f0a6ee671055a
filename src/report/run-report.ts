import type { RunOptions } from '../config/options.js';
import type { Lag } from './lag.js';
import { emptyRejectCounts, REJECT_REASONS, type RejectCounts } from '../record/reasons.js';
import type { FileReport } from './file-report.js';
import type { NodeFigures } from './node-tally.js';

export interface RunTotals {
  readonly files: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly renamed: number;
  readonly lines: number;
  readonly loaded: number;
  /** Records sent to memcached; with --dry, the records that would be loaded (printed), as `loaded` stays 0. */
  readonly records: number;
  readonly rejected: RejectCounts;
  readonly rejectedTotal: number;
  readonly appWarnings: number;
  readonly failedWrites: number;
  /**
   * Rise of each server's `evictions` counter over the run: the files' rises added up, so it is
   * exact for the run even where a rise is charged to a neighbouring file. Only servers where it rose.
   */
  readonly evictions: Readonly<Record<string, number>>;
  readonly evictionsTotal: number;
}

/** What `load()` resolves to; the CLI renders it and derives the exit code from `ok`. */
export interface RunReport {
  readonly pattern: string;
  readonly dry: boolean;
  readonly workers: number | 'auto';
  readonly files: readonly FileReport[];
  readonly totals: RunTotals;
  /** One row per memcached node, in lane order (empty with --dry, or when nothing was opened). */
  readonly nodes: readonly NodeFigures[];
  /** Every file succeeded (SPEC.md exit 0). */
  readonly ok: boolean;
  /** Stopped by a signal before every file was read. */
  readonly interrupted: boolean;
  readonly seconds: number;
  readonly linesPerSecond: number;
  /** How far behind the folder is once the run ended (logfile/lag.ts); null until read, or when it could not be. */
  readonly lag: Lag | null;
}

export function summarize(
  files: readonly FileReport[],
  opts: RunOptions,
  startedAt: number,
  interrupted = false,
  nodes: readonly NodeFigures[] = [],
): RunReport {
  const rejected = emptyRejectCounts();
  for (const f of files) for (const r of REJECT_REASONS) rejected[r] += f.rejected[r];
  const sum = (pick: (f: FileReport) => number) => files.reduce((a, f) => a + pick(f), 0);
  const evictions: Record<string, number> = {};
  for (const f of files) for (const [server, n] of Object.entries(f.evictions)) evictions[server] = (evictions[server] ?? 0) + n;
  const totals: RunTotals = {
    files: files.length,
    succeeded: files.filter((f) => f.outcome === 'succeeded').length,
    failed: files.filter((f) => f.outcome !== 'succeeded').length,
    renamed: files.filter((f) => f.renamed).length,
    lines: sum((f) => f.lines),
    loaded: sum((f) => f.loaded),
    records: sum((f) => f.records),
    rejected,
    rejectedTotal: sum((f) => f.rejectedTotal),
    appWarnings: sum((f) => f.appWarnings),
    failedWrites: sum((f) => f.failedWritesTotal),
    evictions,
    evictionsTotal: Object.values(evictions).reduce((a, n) => a + n, 0),
  };
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    pattern: opts.pattern,
    dry: opts.dry,
    workers: opts.workers,
    files,
    totals,
    nodes,
    ok: totals.failed === 0 && !interrupted,
    interrupted,
    seconds,
    linesPerSecond: seconds > 0 ? Math.round(totals.lines / seconds) : 0,
    lag: null,
  };
}
