/**
 * A run: lists the files (or takes hooks.files), leaves those it must not load (late files,
 * names that are not UTF-8: logfile/pending.ts) failed and pending, opens a LoadSession
 * (session.ts: the stages) only when there is something to load, loads the rest in order, and
 * closes it, whatever happens.
 */
import type { RunOptions } from '../config/options.js';
import { lateLoadWarning } from '../logfile/late-files.js';
import { byName } from '../logfile/list-files.js';
import { selectPending, type Selection } from '../logfile/pending.js';
import type { FileReport } from '../report/file-report.js';
import { notLoadedReport } from '../report/file-tally.js';
import { silentLogger, type Logger } from '../report/logger.js';
import type { LoadObserver } from '../report/observer.js';
import { summarize, type RunReport } from '../report/run-report.js';
import { LoadSession, logFilesFound, type LoadHooks } from './session.js';
import { logNotLoaded } from './settle-log.js';

export type { LoadHooks };

export class Loader {
  readonly #opts: RunOptions;
  readonly #hooks: LoadHooks;

  constructor(opts: RunOptions, hooks: LoadHooks = {}) {
    this.#opts = opts;
    this.#hooks = hooks;
  }

  async run(): Promise<RunReport> {
    const started = performance.now();
    const log = this.#hooks.logger ?? silentLogger;
    const selection = await selectPending(this.#opts.pattern, this.#opts.loadLate, { listed: this.#hooks.files });
    const left = leaveOut(selection, this.#opts, log, this.#hooks.observer);
    const files = selection.load;
    if (files.length === 0) {
      if (left.length === 0) log.log('info', `No files match ${this.#opts.pattern}: nothing to do`, { pattern: this.#opts.pattern });
      return summarize(left, this.#opts, started);
    }
    logFilesFound(files, this.#opts, log, this.#hooks.observer);
    const session = new LoadSession(this.#opts, this.#hooks);
    let report: RunReport;
    try {
      await session.start();
      report = await session.load(files, { started, announce: false });
    } finally {
      await session.stop();
    }
    if (left.length === 0) return report;
    return summarize([...report.files, ...left].sort((a, b) => byName(a.path, b.path)), this.#opts, started, report.interrupted, report.nodes);
  }
}

/**
 * Says what a selection leaves out (an error line each, and to the metrics) and which late files
 * it loads anyway (a warning each); returns the reports of those left out.
 */
export function leaveOut(selection: Selection, opts: RunOptions, log: Logger, observer: LoadObserver | undefined): FileReport[] {
  for (const l of selection.lateLoaded) log.log('warn', lateLoadWarning(l.path, l.done), { file: l.path, late: l.done });
  return selection.notLoaded.map((n) => {
    const report = notLoadedReport(n.path, n.why, n.late, opts.maxErrorRate);
    logNotLoaded(log, report);
    observer?.fileFinished?.(report);
    return report;
  });
}
