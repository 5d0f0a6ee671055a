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
 */
import type { Logger } from '../report/logger.js';
import type { LossReport } from '../memcached/eviction-watch.js';

// The renaming back itself is shared with the cluster's commit.
export { type Finalized, mvCommand, renamesToUndo, undoRenames, type UndoResult } from '../logfile/rename-back.js';

/** A restart seen in this run, and the first file it fails. */
interface Seen {
  readonly from: number;
  readonly text: string;
}

/**
 * Remembers, per server, the first file of this run it acknowledged records of, and when; turns
 * a reading's restarts into the index from which files fail, and says so in the log.
 */
export class RestartGuard {
  readonly #first = new Map<string, { file: number; at: number }>();
  readonly #seen: Seen[] = [];
  #failFrom = Number.POSITIVE_INFINITY;

  /** memcached `server` acknowledged records of file `index`. */
  delivered(server: string, index: number): void {
    const first = this.#first.get(server);
    if (first === undefined) this.#first.set(server, { file: index, at: performance.now() });
    else if (index < first.file) first.file = index;
  }

  /** For EvictionWatch: when `server` first acknowledged a write of this run. */
  readonly firstAck = (server: string): number | undefined => this.#first.get(server)?.at;

  /** Files from this index on fail to load. */
  get failFrom(): number {
    return this.#failFrom;
  }

  /**
   * Takes the restarts of the reading made as `settling` settled. Returns true when the index
   * files fail from moved down: files from it that this run renamed must be renamed back.
   */
  noteRestarts(log: Logger, loss: LossReport, settling: string, pathOf: (index: number) => string): boolean {
    const before = this.#failFrom;
    for (const [server, r] of Object.entries(loss.restarts)) {
      const what = `memcached ${server} restarted (${r.evidence}) while ${settling} settled`;
      const fields = { server, pid: r.pid, previousPid: r.previousPid, uptime: r.uptime };
      const first = this.#first.get(server)?.file;
      if (first === undefined) {
        log.log('error', `${what}: it had acknowledged no record of this run, so no file of this run lost anything there`, fields);
      } else {
        this.#seen.push({ from: first, text: `${what}: records this run stored there may be gone` });
        this.#failFrom = Math.min(this.#failFrom, first);
        log.log(
          'error',
          `${what}: records this run stored there may be gone; ${pathOf(first)}, the first file with records there, and every later file fail to load and will be reloaded by the next run`,
          { ...fields, file: pathOf(first) },
        );
      }
      log.log(
        'error',
        `memcached ${server} restarted: what earlier runs stored there is gone too, and memc-load does not reload files marked done before this run; ` +
          'to restore it, rename back the done files from the oldest one to restore, with every later one, and run again (docs/operations.md)',
        { server },
      );
    }
    return this.#failFrom < before;
  }

  /** The restart errors of file `index` (none unless it is at or after a failing point). */
  errorsFor(index: number): string[] {
    return this.#seen.filter((s) => index >= s.from).map((s) => s.text);
  }
}
