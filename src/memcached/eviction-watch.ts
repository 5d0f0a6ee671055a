/**
 * Loss inside memcached. Under quiet sets a full server evicts old items to store new ones and
 * the client sees nothing but `MN`; only its counters tell. So the loader reads every server's
 * `stats` before the run and again as each file settles, and charges the rise since the previous
 * reading to that file:
 *
 *   baseline ──── file 0 settles ──── file 1 settles ──── …
 *        rise(0) = r1 − r0     rise(1) = r2 − r1
 *
 * Reading the next file overlaps the acknowledgements of the previous one, so a file's rise is
 * what the servers reported while it settled: writes of the next file may already be in it. An
 * eviction removes the least recently used items, which usually belong to earlier files: the
 * rise says the servers are too small for the data, not which records are gone.
 *
 * Counters watched: `evictions` (items pushed out to make room) and `store_no_memory` (stores
 * refused with SERVER_ERROR out of memory, e.g. under `-M`).
 *
 * A restart means everything stored before is gone; restart-rule.ts tells it, for both modes
 * (a changed `pid`, or an `uptime` that grew less than the time since the previous reading).
 * A server with no earlier reading (unreadable at the baseline) has
 * restarted if it started after it acknowledged this run's first write to it: the loader says
 * when that was (`firstAck`). A server that merely came up late lost nothing, since the
 * connection resent whatever it had not acknowledged.
 *
 * A server that holds records of this run (`firstAck` knows when it first acknowledged one) and
 * cannot be read is in doubt: it may have restarted and lost them, and nothing else will tell.
 * It is read again a few times within the timeout, so one slow reply on a loaded machine is not
 * taken for a loss; a reading that answers settles it (the same process, or a restart). Still
 * unreadable: `lost`, which the caller treats as a restart (pipeline/restart-undo.ts). Such a
 * server is asked even when its lane was given up on: refusing connections is what a dead one does.
 */
import type { ServerAddress } from '../config/servers.js';
import { stats } from './admin.js';
import { connectFailure } from './connect-failure.js';
import { restarted, type Restart } from './restart-rule.js';

export { restarted, type Restart };

export interface CounterReading {
  readonly pid: string;
  readonly uptime: number;
  readonly evictions: number;
  readonly storeNoMemory: number;
  /** When it was read (performance.now(), ms). */
  readonly at: number;
}

/** What changed on the servers since the previous reading; only servers with something to say. */
export interface LossReport {
  /** Rise of `evictions`, by server `host:port`. */
  readonly evictions: Readonly<Record<string, number>>;
  /** Rise of `store_no_memory`, by server. */
  readonly storeNoMemory: Readonly<Record<string, number>>;
  /** Servers whose rise is unknown, with why: unreadable now or before, or restarted. */
  readonly unknown: Readonly<Record<string, string>>;
  /** Servers found restarted since the previous reading (also in `unknown`). */
  readonly restarts: Readonly<Record<string, Restart>>;
  /**
   * Servers holding records of this run (`firstAck` known) that could not be read, again and
   * again within the timeout, with why (also in `unknown`): they may have restarted.
   */
  readonly lost: Readonly<Record<string, string>>;
  /** Servers not asked this time (also in `unknown`): their lane was given up, which was said then. */
  readonly skipped: readonly string[];
  /**
   * Servers never read, that could not be connected to now (also in `unknown`), with the errno
   * code (`ECONNREFUSED`) or `connect timed out`: the loader says that once, not "evictions not
   * checked" for each reading.
   */
  readonly unreachable: Readonly<Record<string, string>>;
}

/**
 * When a server first acknowledged a write of this run (performance.now(), ms), or undefined:
 * none yet, or nothing left to decide about it in this run.
 */
export type FirstAck = (server: string) => number | undefined;

/** Why a server is not read this time (e.g. its connection was given up), or null to read it. */
export type SkipCheck = (server: string) => string | null;

/** How a watch reads a server's `stats`: admin.ts's own socket by default. */
export type StatsReader = (address: ServerAddress, timeoutMs: number) => Promise<Readonly<Record<string, string>>>;

export class EvictionWatch {
  readonly #servers: readonly ServerAddress[];
  readonly #stats: StatsReader;
  /** Last good reading per server. A failed or skipped reading keeps it, so the next good one still compares. */
  readonly #last = new Map<string, CounterReading>();
  readonly #asked = new Set<string>();

  /** `read`: the cluster's apply passes one that keeps the reply, to take the node's identity from the same `stats`. */
  constructor(servers: readonly ServerAddress[], read: StatsReader = stats) {
    this.#servers = servers;
    this.#stats = read;
  }

  /**
   * Reads every server (in parallel, each within timeoutMs) and returns the rise since its last
   * good reading. The first call is the baseline and reports only servers it could not read.
   */
  async read(timeoutMs: number, skip: SkipCheck = () => null, firstAck: FirstAck = () => undefined): Promise<LossReport> {
    const evictions: Record<string, number> = {};
    const storeNoMemory: Record<string, number> = {};
    const unknown: Record<string, string> = {};
    const restarts: Record<string, Restart> = {};
    const skippedServers: string[] = [];
    const unreachable: Record<string, string> = {};
    const lost: Record<string, string> = {};
    await Promise.all(
      this.#servers.map(async (address) => {
        const server = address.label;
        const first = !this.#asked.has(server);
        this.#asked.add(server);
        const before = this.#last.get(server);
        const holds = firstAck(server) !== undefined;
        const skipped = skip(server);
        if (skipped !== null && !holds) {
          if (!first) {
            unknown[server] = skipped;
            skippedServers.push(server);
          }
          return;
        }
        const readNow = () => (holds ? readPersisting(this.#stats, address, timeoutMs) : readOnce(this.#stats, address, timeoutMs));
        let now: CounterReading;
        try {
          now = await readNow();
        } catch (err) {
          unknown[server] = `could not read stats: ${(err as Error).message}`;
          if (holds) lost[server] = unknown[server];
          const failure = before === undefined && !holds ? connectFailure(err as Error) : null;
          if (failure !== null) unreachable[server] = failure;
          return;
        }
        this.#last.set(server, now);
        if (first) return;
        let restart = restarted(before, now, firstAck(server));
        if (restart !== null && (before === undefined || before.pid === now.pid)) {
          // Told by uptime alone. memcached moves its clock once a second on its event loop, so a
          // server just thawed from a freeze (SIGSTOP, a VM pause) reports the uptime it had when
          // it froze until its next tick: a restart to the eye. Read once more after a tick; a
          // restarted server's uptime is still short, a thawed one's has caught up.
          await new Promise((resolve) => setTimeout(resolve, CLOCK_TICK_MS));
          try {
            now = await readNow();
            restart = restarted(before, now, firstAck(server));
          } catch {
            // Unreadable a moment after a reading that looked like a restart: the first reading stands.
          }
          this.#last.set(server, now);
        }
        if (restart !== null) {
          restarts[server] = restart;
          unknown[server] = `memcached restarted (${restart.evidence}): items stored before are gone`;
        } else if (before === undefined) {
          unknown[server] = 'no earlier reading of its stats';
        } else {
          const e = now.evictions - before.evictions;
          const s = now.storeNoMemory - before.storeNoMemory;
          if (e > 0) evictions[server] = e;
          if (s > 0) storeNoMemory[server] = s;
        }
      }),
    );
    return { evictions, storeNoMemory, unknown, restarts, lost, skipped: skippedServers, unreachable };
  }
}

/** Longer than memcached's clock tick (1 s), so a second reading sees the clock move. */
const CLOCK_TICK_MS = 1100;

/** Attempts at reading a server in doubt, at least; more while the timeout lasts. */
const DOUBT_ATTEMPTS = 3;
/** An attempt after the first gets at least this long, even past the timeout. */
const DOUBT_MIN_ATTEMPT_MS = 250;

async function readOnce(read: StatsReader, address: ServerAddress, timeoutMs: number): Promise<CounterReading> {
  return toReading(await read(address, timeoutMs), performance.now());
}

/**
 * Reads a server in doubt: again after each failure (100, 200, 400 … ms apart) until it answers,
 * or at least DOUBT_ATTEMPTS attempts have failed and `timeoutMs` has passed. Throws the last error.
 */
async function readPersisting(read: StatsReader, address: ServerAddress, timeoutMs: number): Promise<CounterReading> {
  const deadline = performance.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await readOnce(read, address, Math.max(deadline - performance.now(), DOUBT_MIN_ATTEMPT_MS));
    } catch (err) {
      const left = deadline - performance.now();
      if (attempt + 1 >= DOUBT_ATTEMPTS && left <= 0) throw err;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, Math.max(left, 100))));
    }
  }
}

function toReading(s: Readonly<Record<string, string>>, at: number): CounterReading {
  const n = (name: string): number => {
    const v = Number(s[name]);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`stat ${name} missing or not a count: ${String(s[name])}`);
    return v;
  };
  return { pid: s['pid'] ?? '', uptime: n('uptime'), evictions: n('evictions'), storeNoMemory: n('store_no_memory'), at };
}
