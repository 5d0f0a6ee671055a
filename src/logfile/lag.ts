/** Reads a folder's lag (report/lag.ts says what it means) at the moment it is asked. */
import { basename } from 'node:path';
import { glob } from 'tinyglobby';
import type { RunOptions } from '../config/options.js';
import { lagOf, type Lag } from '../report/lag.js';
import type { RunReport } from '../report/run-report.js';
import { selectPending } from './pending.js';

/** The folder's lag now: what a run of `pattern` would load, and the files it has marked done. */
export async function readLag(pattern: string, loadLate: boolean, nowMs = Date.now()): Promise<Lag> {
  const [selection, matches] = await Promise.all([
    selectPending(pattern, loadLate),
    glob(pattern, { absolute: true, onlyFiles: true, dot: true, expandDirectories: false }),
  ]);
  const done = matches.filter((p) => basename(p).startsWith('.'));
  return lagOf(selection.load, done, nowMs);
}

/** The run's report with the folder's lag as the run left it; a folder that cannot be read leaves it null (the run has said why). */
export async function withLag(report: RunReport, opts: Pick<RunOptions, 'pattern' | 'loadLate'>): Promise<RunReport> {
  const lag = await readLag(opts.pattern, opts.loadLate).catch(() => null);
  return { ...report, lag };
}
