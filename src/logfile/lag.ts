/** Reads a folder's lag (report/lag.ts says what it means) at the moment it is asked. */
import type { RunOptions } from '../config/options.js';
import { lagOf, type Lag } from '../report/lag.js';
import type { RunReport } from '../report/run-report.js';
import { selectPending } from './pending.js';

/** The folder's lag now: what a run of `pattern` would load, and the files it has marked done (one listing). */
export async function readLag(pattern: string, loadLate: boolean, nowMs = Date.now()): Promise<Lag> {
  const selection = await selectPending(pattern, loadLate);
  return lagOf(selection.load, selection.done, nowMs, selection.notLoaded.length);
}

/** The run's report with the folder's lag as the run left it; a folder that cannot be read leaves it null (the run has said why). */
export async function withLag(report: RunReport, opts: Pick<RunOptions, 'pattern' | 'loadLate'>): Promise<RunReport> {
  const lag = await readLag(opts.pattern, opts.loadLate).catch(() => null);
  return { ...report, lag };
}
