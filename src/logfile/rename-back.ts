/**
 * Renaming files back to pending, newest first, when files from some index on must fail after
 * some of them were renamed (a memcached lost their records): the done files stay a prefix of
 * the sequence at every moment. A rename back that fails stops the undo there, since undoing an
 * older file while a newer one stays done would let the next run load the older values last;
 * the rest get the exact `mv` that does it. Used by the single host's RestartGuard
 * (pipeline/restart-undo.ts) and by the cluster's commit (queue/restart-watch.ts).
 */
import { basename } from 'node:path';
import { donePath, markPending } from './mark-done.js';

/** A file this run has reported: whether it was renamed. */
export interface Finalized {
  readonly index: number;
  readonly path: string;
  readonly renamed: boolean;
}

export interface UndoResult {
  readonly index: number;
  readonly path: string;
  /** Renamed back to its original name. */
  readonly undone: boolean;
  /** When not undone: the shell command that does it, and why it was not done. */
  readonly command: string | null;
  readonly why: string | null;
}

/** Files of this run to rename back when files from `from` on must fail: renamed ones, newest first. */
export function renamesToUndo(files: readonly Finalized[], from: number): Finalized[] {
  return files.filter((f) => f.renamed && f.index >= from).sort((a, b) => b.index - a.index);
}

/** `mv` back from the done name, quoted for a POSIX shell. */
export function mvCommand(path: string): string {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  return `mv -- ${q(donePath(path))} ${q(path)}`;
}

/** Renames `plan` back in its order (newest first); the first failure stops it, and the rest get their commands. */
export async function undoRenames(plan: readonly Finalized[], renameBack: (path: string) => Promise<void> = markPending): Promise<UndoResult[]> {
  const results: UndoResult[] = [];
  let blocked: string | null = null;
  for (const f of plan) {
    if (blocked !== null) {
      results.push({ index: f.index, path: f.path, undone: false, command: mvCommand(f.path), why: `${blocked} could not be renamed back first` });
      continue;
    }
    try {
      await renameBack(f.path);
      results.push({ index: f.index, path: f.path, undone: true, command: null, why: null });
    } catch (err) {
      blocked = basename(f.path);
      results.push({ index: f.index, path: f.path, undone: false, command: mvCommand(f.path), why: (err as Error).message });
    }
  }
  return results;
}
