/**
 * Which pending files a run loads, and which it leaves, with why: the one rule both modes ask
 * before they load (issue #18, items 6 and 7). A late file (older than a file of its folder
 * already marked done) is left unless the operator says --load-late; a name that is not UTF-8
 * is left (list-files.ts). Neither takes a place in the order, so neither holds back a newer file.
 * The cluster asks it too (queue/enqueue.ts, queue/status.ts), with its plan in flight: a file
 * older than one the plan holds in its folder would be applied after it, so it is late as well.
 */
import { lateFiles, lateReason, plannedAhead, plannedAheadReason } from './late-files.js';
import { listPattern } from './list-files.js';

export interface NotLoaded {
  readonly path: string;
  /** For the log and the report. */
  readonly why: string;
  /** A late file: the done file that makes it late. */
  readonly late: string | null;
}

export interface Selection {
  /** What the run loads, oldest first. */
  readonly load: readonly string[];
  /** What it leaves pending, and why. */
  readonly notLoaded: readonly NotLoaded[];
  /** Late files loaded anyway (--load-late), with the done file that makes each late. */
  readonly lateLoaded: readonly { readonly path: string; readonly done: string }[];
  /** The pattern's done files, from the same listing (report/lag.ts reads the newest). */
  readonly done: readonly string[];
}

/** A plan's files (the cluster's): not pending for this selection, and, while `inFlight`, a newer planned file of a folder makes its older pending files late. */
export interface Planned {
  readonly id: string;
  readonly files: readonly string[];
  readonly inFlight: boolean;
}

export interface PendingOptions {
  /** The files to consider, in their order, instead of the pattern's pending files (the library's hooks.files); a name that is not UTF-8 is still left out. */
  readonly listed?: readonly string[];
  readonly planned?: Planned;
}

export async function selectPending(pattern: string, loadLate: boolean, opts: PendingOptions = {}): Promise<Selection> {
  const listing = await listPattern(pattern, opts.listed);
  const inPlan = new Set(opts.planned?.files ?? []);
  const files = listing.files.filter((f) => !inPlan.has(f));
  const late = new Map([...lateFiles(listing.done, files)].map(([path, done]) => [path, { done, why: lateReason(done) }]));
  if (opts.planned?.inFlight === true) {
    for (const [path, ahead] of plannedAhead(opts.planned.files, files)) if (!late.has(path)) late.set(path, { done: ahead, why: plannedAheadReason(ahead, opts.planned.id) });
  }
  const notLoaded: NotLoaded[] = listing.badNames.map((b) => ({ path: b.path, why: b.why, late: null }));
  const done = listing.done;
  if (loadLate) return { load: files, notLoaded, lateLoaded: [...late].map(([path, l]) => ({ path, done: l.done })), done };
  for (const [path, l] of late) notLoaded.push({ path, why: l.why, late: l.done });
  return { load: files.filter((f) => !late.has(f)), notLoaded, lateLoaded: [], done };
}
