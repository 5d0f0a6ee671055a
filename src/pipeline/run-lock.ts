/**
 * A run holds the lock of the folder it loads (logfile/folder-lock.ts) from before it lists the
 * files until it has renamed the last one; watch mode for its whole life. --dry writes nothing
 * and takes no lock. Held by another run: FolderLockedError, after waiting up to `waitLock` s.
 * Held by a cluster plan: its Redis says whether the plan is still in flight (queue/plan-lock.ts,
 * loaded only then: a run that never meets a plan never loads BullMQ).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunOptions } from '../config/options.js';
import { ERROR_CODES, FolderLockedError, MemcLoadError } from '../errors.js';
import { acquireFolderLock, describeStale, patternFolder, RETRY_HINT, selfHolder, type Acquired, type PlanCheck } from '../logfile/folder-lock.js';
import { withLag } from '../logfile/lag.js';
import { silentLogger } from '../report/logger.js';
import { summarize, type RunReport } from '../report/run-report.js';
import type { LoadHooks } from './loader.js';

const checkPlan: PlanCheck = async (plan) => (await import('../queue/plan-lock.js')).checkPlanLock(plan);

/** How often a waiting run looks at the lock again. */
const POLL_MS = 200;

/**
 * A run or a watch session as the library's load() and the CLI start it: `body` under the
 * folder's lock, and its report with the folder's lag as the run left it.
 */
export async function lockedRun(opts: RunOptions, hooks: LoadHooks, body: () => Promise<RunReport>): Promise<RunReport> {
  return withLag(await withFolderLock(opts, hooks, body), opts);
}

export async function withFolderLock(opts: RunOptions, hooks: LoadHooks, body: () => Promise<RunReport>): Promise<RunReport> {
  if (opts.dry) return body();
  const started = performance.now();
  const log = hooks.logger ?? silentLogger;
  const acquired = await acquireWaiting(patternFolder(opts.pattern), opts, hooks);
  // Interrupted while waiting: nothing was loaded.
  if (acquired === 'aborted') return summarize([], opts, started, true);
  // No such folder: nothing can match, so nothing to guard.
  if (acquired === null) return body();
  const { lock, tookOver } = acquired;
  if (tookOver !== null) log.log('warn', `${lock.folder}: took over ${describeStale(tookOver)} (lock file ${lock.path})`, { file: lock.path });
  // A second SIGINT exits through process.exit, where no finally runs.
  const onExit = () => lock.releaseSync();
  process.once('exit', onExit);
  try {
    return await body();
  } finally {
    process.off('exit', onExit);
    if (!(await lock.release())) {
      log.log('warn', `The lock file ${lock.path} was removed or replaced by someone else during the run; left it as it is`, { file: lock.path });
    }
  }
}

async function acquireWaiting(folder: string, opts: RunOptions, hooks: LoadHooks): Promise<Acquired | null | 'aborted'> {
  const deadline = performance.now() + opts.waitLock * 1000;
  let told = false;
  for (;;) {
    try {
      return await acquireFolderLock(folder, selfHolder(opts.pattern), checkPlan);
    } catch (err) {
      if (!(err instanceof MemcLoadError && err.code === ERROR_CODES.LOCKED)) throw err;
      const left = deadline - performance.now();
      if (left <= 0 && opts.waitLock === 0) throw err;
      const held = err.message.replace(RETRY_HINT, '');
      if (left <= 0) throw new FolderLockedError(`${held}; still held after waiting ${opts.waitLock} s`, { file: err.file, cause: err });
      if (!told) hooks.logger?.log('info', `Waiting up to ${opts.waitLock} s for the lock: ${held}`, { file: err.file });
      told = true;
      try {
        await sleep(Math.min(POLL_MS, left), undefined, { signal: hooks.signal });
      } catch {
        return 'aborted';
      }
      if (hooks.signal?.aborted) return 'aborted';
    }
  }
}
