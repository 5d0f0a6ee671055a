/**
 * --watch: load what is there, oldest first, then keep loading new minute-logs as they arrive,
 * still in order, until the signal aborts.
 *
 * A file is taken only when complete: it has not been modified for `settleMs`, its size did not
 * change between two looks, and its gzip stream ends with a whole trailer. The last check inflates
 * the file once (about a second of one libuv thread for a real 500 MB file, once a minute): no
 * cheaper test tells a paused copy from a finished one, and loading half a file would fail it and
 * hold back every later minute. Order is never broken: a file that is not complete yet holds back
 * every later one. A file that fails to load (a server down) stays unrenamed and is retried, with
 * everything after it, after `retryMs`, and a server given up on is tried again then. The
 * session's report holds each file once, as its last attempt left it: the exit status says
 * which files are still failed when the watch stops, not how many attempts failed on the way.
 */
import { lstat, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunOptions } from '../config/options.js';
import { selectPending, type Selection } from '../logfile/pending.js';
import { PoolGunzip } from '../logfile/pool-gunzip.js';
import type { FileReport } from '../report/file-report.js';
import { summarize, type RunReport } from '../report/run-report.js';
import { silentLogger } from '../report/logger.js';
import { leaveOut, type LoadHooks } from './loader.js';
import { LoadSession } from './session.js';
import { WATCH_DEFAULTS, type WatchOptions } from '../config/defaults.js';

// Re-exported: the CLI reads the defaults from config/defaults.ts, not through the pipeline.
export { WATCH_DEFAULTS, type WatchOptions };

export async function watch(opts: RunOptions, hooks: LoadHooks, w: WatchOptions = WATCH_DEFAULTS): Promise<RunReport> {
  const started = performance.now();
  // The verdict is each file's last attempt: a file that failed and then loaded on a retry
  // succeeded, once. A Map keeps the order in which files were first tried: oldest first.
  const latest = new Map<string, FileReport>();
  const seen = new Map<string, number>();
  const whole = new Map<string, string>();
  const left: LeftOut = { reported: new Map(), warned: new Set() };
  const signal = hooks.signal;
  const log = hooks.logger;
  log?.log('info', `Watching ${opts.pattern} (every ${w.intervalMs} ms; a file is taken once unchanged for ${w.settleMs} ms)`);
  // One loader for the session: its worker threads, connections and eviction baselines serve
  // every round, so a server that restarts between rounds is still seen as restarted.
  const loader = new LoadSession(opts, hooks);
  try {
    await loader.start();
    while (!signal?.aborted) {
      const selection = await selectPending(opts.pattern, opts.loadLate);
      noteLeftOut(selection, left, opts, hooks, latest);
      const ready = await completePrefix(selection.load, seen, whole, w.settleMs);
      if (ready.length > 0) {
        const report = await loader.load(ready);
        for (const f of report.files) {
          latest.set(f.path, f);
          seen.delete(f.path);
          whole.delete(f.path);
        }
        const failed = report.files.some((f) => f.outcome === 'failed_load');
        if (failed && !signal?.aborted) {
          log?.log('warn', `A file failed to load; retrying it and every later file in ${w.retryMs} ms`);
          await pause(w.retryMs, signal);
        }
        continue;
      }
      // Idle: a server lost meanwhile would show down until the next file reconnects it.
      loader.probeDown();
      await pause(w.intervalMs, signal);
    }
  } finally {
    await loader.stop();
  }
  log?.log('info', 'Watch stopped');
  const finals = [...latest.values()];
  return summarize(finals, opts, started, false, loader.nodeFigures(finals));
}

/** What a watch has said about files it leaves out, so each is said once, not every round. */
interface LeftOut {
  /** Files left out (late, a bad name), with the report that puts their failure in the session's verdict. */
  readonly reported: Map<string, FileReport>;
  /** Late files --load-late warned about. */
  readonly warned: Set<string>;
}

/**
 * A late file (or a bad name) is reported once and counts in the verdict while it is still left
 * out; once it is gone (moved away, loaded) it no longer does.
 */
function noteLeftOut(selection: Selection, left: LeftOut, opts: RunOptions, hooks: LoadHooks, latest: Map<string, FileReport>): void {
  const now = new Set(selection.notLoaded.map((n) => n.path));
  for (const [path, report] of left.reported) {
    if (now.has(path)) continue;
    left.reported.delete(path);
    if (latest.get(path) === report) latest.delete(path);
  }
  const fresh: Selection = {
    load: selection.load,
    notLoaded: selection.notLoaded.filter((n) => !left.reported.has(n.path)),
    lateLoaded: selection.lateLoaded.filter((l) => !left.warned.has(l.path)),
    done: selection.done,
  };
  for (const r of leaveOut(fresh, opts, hooks.logger ?? silentLogger, hooks.observer)) {
    latest.set(r.path, r);
    left.reported.set(r.path, r);
  }
  for (const l of fresh.lateLoaded) left.warned.add(l.path);
}

/** The longest run of oldest files that are complete; the first incomplete one stops it. */
async function completePrefix(
  files: readonly string[],
  seen: Map<string, number>,
  whole: Map<string, string>,
  settleMs: number,
): Promise<string[]> {
  const ready: string[] = [];
  const now = Date.now();
  for (const path of files) {
    let s;
    try {
      s = await stat(path);
    } catch {
      // A dangling link (its storage not mounted yet) is taken as it is: reading it fails and
      // says so, and it holds back every later file. Anything else went between listing and stat.
      if ((await lstat(path).catch(() => null))?.isSymbolicLink()) ready.push(path);
      break;
    }
    const before = seen.get(path);
    seen.set(path, s.size);
    const quiet = now - s.mtimeMs >= settleMs;
    const steady = before === s.size || (before === undefined && quiet);
    if (!(quiet && steady && s.size > 0)) break;
    const version = `${s.size}:${s.mtimeMs}`;
    if (whole.get(path) !== version) {
      if (!(await gzipTrailerWhole(path))) break;
      whole.set(path, version);
    }
    ready.push(path);
  }
  return ready;
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the loop condition ends the watch
  }
}

/**
 * False only when the gzip data stops before its end (a copy still in progress). A file that is
 * corrupt in another way is "whole": the loader reports it, with where it broke. Read the way the
 * loader reads, so a member after zero padding counts: a copy stopped inside it is not whole.
 */
export async function gzipTrailerWhole(path: string): Promise<boolean> {
  try {
    for await (const piece of new PoolGunzip(path)) void piece;
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR';
  }
}
