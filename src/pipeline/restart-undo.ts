/**
 * A memcached restarted mid-run has lost every record it acknowledged before, including records
 * of files this run already renamed. So every file from the first one that reached that server
 * fails to load: the ones not yet renamed stay pending, and the ones this run renamed are renamed
 * back, newest first, so the done files stay a prefix of the sequence at every moment:
 *
 *   files:   0 ─ 1 ─ 2 ─ 3 ─ 4 ─ 5        S restarts, seen as file 4 settles;
 *   done:    0   1   2   3                 file 2 was the first with records acknowledged by S
 *   undo:            3 ← then 2            → done: 0 1; files 2.. fail and reload next run
 *
 * A rename back that fails (a file sits at the name, no permission) stops the undo there: undoing
 * an older file while a newer one stays done would let the next run load the older values last.
 * The log then gives the exact commands. Files renamed by earlier runs are out of reach: what
 * they stored on that server is gone too, and only the operator can decide to reload them.
 *
 * A lost server is a restart until shown otherwise (issue #18, item 5): one that holds records of
 * this run and whose identity (pid, uptime) cannot be read at a file's settle, even after a few
 * tries within --timeout (memcached/eviction-watch.ts), may have restarted empty. Its files are
 * then failed and renamed back exactly as for a restart. The decision stands for the run: files
 * must be decided as they settle, and a file is never renamed while a server holding its records
 * is in doubt. The next run (or watch round) reloads them, which is idempotent.
 * The rules themselves (which files a loss fails, which go back) are contract/'s, which the
 * cluster's commit drives too; this class is the single host's memory of its run.
 */
import { failFrom, lossesAt } from '../contract/commit.js';
import { lossOf, type FirstWrite, type Loss, type NodeState } from '../contract/node-loss.js';
import type { Logger } from '../report/logger.js';
import type { LossReport } from '../memcached/eviction-watch.js';

// The renaming back itself is shared with the cluster's commit.
export { type Finalized, mvCommand, renamesToUndo, undoRenames, type UndoResult } from '../logfile/rename-back.js';

/**
 * The single host's driver of the commit rules (contract/): remembers, per server, the first
 * file of this run it acknowledged records of, and when; turns a reading's restarts and lost
 * servers into Losses (contract/node-loss.ts), and says so in the log.
 */
export class RestartGuard {
  readonly #first = new Map<string, { file: number; at: number }>();
  /** Servers found lost in this run: decided, so not read again and again for it. */
  readonly #lost = new Set<string>();
  readonly #losses: Loss[] = [];

  /** memcached `server` acknowledged records of file `index`. */
  delivered(server: string, index: number): void {
    const first = this.#first.get(server);
    if (first === undefined) this.#first.set(server, { file: index, at: performance.now() });
    else if (index < first.file) first.file = index;
  }

  /**
   * For EvictionWatch: when `server` first acknowledged a write of this run; undefined once it
   * was found lost, as nothing is left to decide about it in this run.
   */
  readonly firstAck = (server: string): number | undefined => (this.#lost.has(server) ? undefined : this.#first.get(server)?.at);

  /** The losses so far (contract/commit.ts decides files with them). */
  get losses(): readonly Loss[] {
    return this.#losses;
  }

  /** Files from this index on fail to load. */
  get failFrom(): number {
    return failFrom(this.#losses);
  }

  /**
   * Takes the restarts and lost servers of the reading made as `settling` settled. Returns true
   * when the index files fail from moved down: files from it that this run renamed must be renamed back.
   */
  noteRestarts(log: Logger, loss: LossReport, settling: string, pathOf: (index: number) => string): boolean {
    const failedFrom = this.failFrom;
    const firstOf = (server: string): FirstWrite | undefined => {
      const f = this.#first.get(server);
      return f === undefined ? undefined : { index: f.file, file: pathOf(f.file), ackAt: f.at };
    };
    for (const [server, why] of Object.entries(loss.lost)) {
      if (this.#lost.has(server)) continue;
      const l = lossOf(server, firstOf(server), { kind: 'lost', why }, () =>
        `memcached ${server} could not be read while ${settling} settled (${why}), after it acknowledged records of this run: it may have restarted and lost them`);
      if (l === null) continue;
      this.#lost.add(server);
      this.#losses.push(l);
      log.log(
        'error',
        `${l.text}, so it counts as restarted; ${pathOf(l.from)}, the first file with records there, and every later file fail to load and will be reloaded by the next run (bring the server back, then run again)`,
        { server, file: pathOf(l.from) },
      );
    }
    for (const [server, r] of Object.entries(loss.restarts)) {
      const what = `memcached ${server} restarted (${r.evidence}) while ${settling} settled`;
      const fields = { server, pid: r.pid, previousPid: r.previousPid, uptime: r.uptime };
      const state: NodeState = { kind: 'restarted', restart: r };
      const first = firstOf(server);
      const l = lossOf(server, first, state, () => `${what}: records this run stored there may be gone`);
      if (l === null) {
        const held = first !== undefined ? 'it restarted before it acknowledged any record of this run' : 'it had acknowledged no record of this run';
        log.log('error', `${what}: ${held}, so no file of this run lost anything there`, fields);
      } else {
        this.#losses.push(l);
        log.log(
          'error',
          `${l.text}; ${pathOf(l.from)}, the first file with records there, and every later file fail to load and will be reloaded by the next run`,
          { ...fields, file: pathOf(l.from) },
        );
      }
      log.log(
        'error',
        `memcached ${server} restarted: what earlier runs stored there is gone too, and memc-load does not reload files marked done before this run; ` +
          'to restore it, rename back the done files from the oldest one to restore, with every later one, and run again (docs/operations.md)',
        { server },
      );
    }
    return this.failFrom < failedFrom;
  }

  /** The restart errors of file `index` (none unless it is at or after a failing point). */
  errorsFor(index: number): string[] {
    return lossesAt(this.#losses, index);
  }
}
