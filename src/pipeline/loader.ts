/**
 * A run: lists the files (or takes hooks.files), opens a LoadSession (session.ts: the stages)
 * only when there is something to load, loads them in order, and closes it, whatever happens.
 */
import type { RunOptions } from '../config/options.js';
import { listLogFiles } from '../logfile/list-files.js';
import { silentLogger } from '../report/logger.js';
import { summarize, type RunReport } from '../report/run-report.js';
import { LoadSession, logFilesFound, type LoadHooks } from './session.js';

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
    const files = this.#hooks.files ?? (await listLogFiles(this.#opts.pattern));
    const log = this.#hooks.logger ?? silentLogger;
    if (files.length === 0) {
      log.log('info', `No files match ${this.#opts.pattern}: nothing to do`, { pattern: this.#opts.pattern });
      return summarize([], this.#opts, started);
    }
    logFilesFound(files, this.#opts, log, this.#hooks.observer);
    const session = new LoadSession(this.#opts, this.#hooks);
    try {
      await session.start();
      return await session.load(files, { started, announce: false });
    } finally {
      await session.stop();
    }
  }
}
