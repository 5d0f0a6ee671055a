/**
 * The commit rules, once for both modes (issue #18, item 1): what becomes of each file, in
 * order, from its outcome, the nodes' losses and the first file not renamed; and, when a node
 * lost files of the run, which of them fail and which renamed ones go back, newest first.
 *
 *   files:   0 ✓  1 ✓  2 ✓  3 ✗  4 ·  5 ·       a node that held 1.. is lost as 3 commits:
 *   decide:  rename while every earlier file renamed and no loss reaches it; a failed_load fails;
 *            a loaded file after one not renamed is held back by it
 *   failFrom: files from 1 on fail; undoFrom: renamed ones (2, then 1) go back: done stays a prefix
 *
 * Pure: the single host's Settler (pipeline/settle.ts, through RestartGuard) and the cluster's
 * commit job (queue/processors.ts, through queue/restart-watch.ts) drive it; each owns only
 * its transport (an in-memory tally and watermark, or Redis records and a lock).
 */
import type { Finalized } from '../logfile/rename-back.js';
import { renamesToUndo } from '../logfile/rename-back.js';
import type { FileOutcome } from '../report/file-report.js';
import type { Loss } from './node-loss.js';

export type { Loss } from './node-loss.js';

/** What becomes of a file at its commit. */
export type Verdict =
  | { readonly kind: 'rename' }
  /** Not loaded: a node lost it (`losses`), or it failed to load on its own. */
  | { readonly kind: 'fail'; readonly why: string; readonly losses: readonly string[] }
  /** Loaded, but an earlier file of the run was not renamed: it stays pending behind it. */
  | { readonly kind: 'held'; readonly by: string };

/** The file at hand, as its transport counted it. */
export interface FileAtCommit {
  readonly index: number;
  readonly outcome: FileOutcome;
  /** Why it failed to load, when it did. */
  readonly error: string | null;
}

/** The index files fail from: the earliest loss's first file (Infinity without a loss). */
export function failFrom(losses: readonly Loss[]): number {
  return losses.reduce((m, l) => Math.min(m, l.from), Number.POSITIVE_INFINITY);
}

/** The losses that reach file `index`, as their texts. */
export function lossesAt(losses: readonly Loss[], index: number): string[] {
  return losses.filter((l) => index >= l.from).map((l) => l.text);
}

/**
 * A file's verdict. `holder`: the first file of the run not renamed before it (null when every
 * earlier file was). A loss that reaches the file fails it whatever its own outcome; a failed
 * load fails it; a loaded file behind a holder is held back; otherwise it is renamed.
 */
export function decide(file: FileAtCommit, losses: readonly Loss[], holder: string | null): Verdict {
  const lost = lossesAt(losses, file.index);
  if (lost.length > 0) return { kind: 'fail', why: lost.join('; '), losses: lost };
  if (file.outcome === 'failed_load') return { kind: 'fail', why: file.error ?? 'failed to load', losses: [] };
  if (holder !== null) return { kind: 'held', by: holder };
  return { kind: 'rename' };
}

/**
 * The files of the run renamed from `from` (failFrom of the losses) on, newest first, to rename
 * back (logfile/rename-back.ts undoRenames does it). The transport computes `from` once and hands
 * it here: the cluster asks the disk whether a file is renamed only from it on.
 */
export function undoFrom(from: number, files: readonly Finalized[]): readonly Finalized[] {
  return from === Number.POSITIVE_INFINITY ? [] : renamesToUndo(files, from);
}
