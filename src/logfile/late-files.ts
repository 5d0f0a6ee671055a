/**
 * Late files (issue #18): a pending file whose folder already holds a newer file marked done.
 * Files load oldest first and the last line for a key wins, so loading such a file would put an
 * older minute's values over the newer minute's for every key the two share. Both modes ask this
 * one function before they load anything, and hold a late file back unless the operator says
 * `--load-late`. A file is late relative to its own folder only: folders are independent streams.
 */
import { basename, dirname } from 'node:path';

/** Pending path → the done file (its dot-name path) that makes it late: the newest done file of its folder. */
export type LateFiles = ReadonlyMap<string, string>;

/**
 * For each of `pending`, the newest done file of its folder when that is newer than it. `done`:
 * the pattern's done files (list-files.ts lists both in one pass); "newer" compares base names
 * without the dot, the same order the loader loads in.
 */
export function lateFiles(done: readonly string[], pending: readonly string[]): LateFiles {
  const newestDone = new Map<string, { name: string; path: string }>();
  for (const path of done) {
    const dir = dirname(path);
    const original = basename(path).slice(1);
    const best = newestDone.get(dir);
    if (best === undefined || original > best.name) newestDone.set(dir, { name: original, path });
  }
  const late = new Map<string, string>();
  for (const file of pending) {
    const done = newestDone.get(dirname(file));
    if (done !== undefined && done.name > basename(file)) late.set(file, done.path);
  }
  return late;
}

/** Pending path → the newest planned file of its folder, when that is newer than it (a plan in flight would apply it after that one). */
export function plannedAhead(planned: readonly string[], pending: readonly string[]): LateFiles {
  const newest = new Map<string, string>();
  for (const f of planned) {
    const n = newest.get(dirname(f));
    if (n === undefined || basename(f) > basename(n)) newest.set(dirname(f), f);
  }
  const late = new Map<string, string>();
  for (const file of pending) {
    const ahead = newest.get(dirname(file));
    if (ahead !== undefined && basename(ahead) > basename(file)) late.set(file, ahead);
  }
  return late;
}

export function plannedAheadReason(ahead: string, plan: string): string {
  return `late: ${ahead} in the same folder is planned ahead of it in plan ${plan}, so loading this older file after it would overwrite newer values; it stays pending. Load it anyway with --load-late`;
}

/** The one wording both modes log and record for a late file. */
export function lateReason(doneFile: string): string {
  return `late: ${basename(doneFile).slice(1)} in the same folder is already loaded (${doneFile}), so loading this older file would overwrite newer values; it stays pending. Load it anyway with --load-late`;
}

/** What --load-late warns, once per late file it loads. */
export function lateLoadWarning(path: string, doneFile: string): string {
  const newer = basename(doneFile).slice(1);
  return (
    `${path} is late: ${newer} in the same folder is already loaded (${doneFile}); loading it anyway (--load-late): ` +
    `every key the two files share now holds this older file's value, not ${newer}'s, until ${newer} is loaded again ` +
    `(rename it back without its dot, with every later done file, and run again)`
  );
}
