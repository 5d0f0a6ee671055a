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
 * The cluster's commit can use this class as the single host does: it needs no session.
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
/**
 * A restart whose new process started this long before the server's first acknowledgement of
 * this run lost nothing of it. memcached's uptime runs ~2-3 s ahead of its real start and has
 * 1 s steps, so the margin is wide: a restart near the first write counts as after it.
 */
const BEFORE_FIRST_ACK_MARGIN_MS = 5000;

export class RestartGuard {
  readonly #first = new Map<string, { file: number; at: number }>();
  /** Servers found lost in this run: decided, so not read again and again for it. */
  readonly #lost = new Set<string>();
  readonly #seen: Seen[] = [];
  #failFrom = Number.POSITIVE_INFINITY;

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

  /** Files from this index on fail to load. */
  get failFrom(): number {
    return this.#failFrom;
  }

  /**
   * Takes the restarts of the reading made as `settling` settled. Returns true when the index
   * files fail from moved down: files from it that this run renamed must be renamed back.
   */
  noteRestarts(log: Logger, loss: LossReport, settling: string, pathOf: (index: number) => string): boolean {
    const failedFrom = this.#failFrom;
    for (const [server, why] of Object.entries(loss.lost)) {
      const first = this.#first.get(server)?.file;
      if (first === undefined || this.#lost.has(server)) continue;
      this.#lost.add(server);
      const what = `memcached ${server} could not be read while ${settling} settled (${why}), after it acknowledged records of this run`;
      const text = `${what}: it may have restarted and lost them`;
      this.#seen.push({ from: first, text });
      this.#failFrom = Math.min(this.#failFrom, first);
      log.log(
        'error',
        `${text}, so it counts as restarted; ${pathOf(first)}, the first file with records there, and every later file fail to load and will be reloaded by the next run (bring the server back, then run again)`,
        { server, file: pathOf(first) },
      );
    }
    for (const [server, r] of Object.entries(loss.restarts)) {
      const what = `memcached ${server} restarted (${r.evidence}) while ${settling} settled`;
      const fields = { server, pid: r.pid, previousPid: r.previousPid, uptime: r.uptime };
      const firstAck = this.#first.get(server);
      // Restarted before it acknowledged anything of this run (say between two rounds of a watch): it lost nothing of it.
      const before = firstAck !== undefined && r.startedAt + BEFORE_FIRST_ACK_MARGIN_MS < firstAck.at;
      const first = before ? undefined : firstAck?.file;
      if (first === undefined) {
        const held = before ? 'it restarted before it acknowledged any record of this run' : 'it had acknowledged no record of this run';
        log.log('error', `${what}: ${held}, so no file of this run lost anything there`, fields);
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
    return this.#failFrom < failedFrom;
  }

  /** The restart errors of file `index` (none unless it is at or after a failing point). */
  errorsFor(index: number): string[] {
    return this.#seen.filter((s) => index >= s.from).map((s) => s.text);
  }
}
