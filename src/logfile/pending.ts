/**
 * Which pending files a run loads, and which it leaves, with why: the one rule both modes ask
 * before they load (issue #18, items 6 and 7). A late file (older than a file of its folder
 * already marked done) is left unless the operator says --load-late; a name that is not UTF-8
 * is left (list-files.ts). Neither takes a place in the order, so neither holds back a newer file.
 */
import { lateFiles, lateReason } from './late-files.js';
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
}

/** `listed`: the files to consider, oldest first, instead of listing `pattern` (the library's hooks.files). */
export async function selectPending(pattern: string, loadLate: boolean, listed?: readonly string[]): Promise<Selection> {
  const { files, badNames } = listed === undefined ? await listPattern(pattern) : { files: listed, badNames: [] };
  const late = await lateFiles(pattern, files);
  const notLoaded: NotLoaded[] = badNames.map((b) => ({ path: b.path, why: b.why, late: null }));
  if (loadLate) return { load: files, notLoaded, lateLoaded: [...late].map(([path, done]) => ({ path, done })) };
  for (const [path, done] of late) notLoaded.push({ path, why: lateReason(done), late: done });
  return { load: files.filter((f) => !late.has(f)), notLoaded, lateLoaded: [] };
}
