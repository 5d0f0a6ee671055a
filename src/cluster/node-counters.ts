/**
 * A lane's node as one apply sees it, from one `stats` before the apply's first set and one
 * after its last acknowledgement, both over the apply's own connection (the first in its first
 * socket's opening, memcached/socket-opening.ts; the second once every set has settled):
 *
 *   before: the eviction and restart baseline, and the node's identity for the takeover fence
 *           (the records of a node that restarted since are dropped: its connections died with it)
 *   after:  what the node lost meanwhile (evictions, stores refused for memory, a restart), and
 *           its identity on its own clock, which the commit compares later readings with
 *
 * Each was two short sockets before issue #19 item 4, and one until issue #18 item 1. A socket
 * of its own is opened only for an after-reading the connection cannot give (no socket open at
 * the end: it was lost or given up), docs/architecture.md "The apply's connection".
 *
 * A worker keeps a node's connection, with these counters, across its successive files
 * (kept-conn.ts): then one file's after-reading is the next file's baseline, as the single host
 * carries its baseline from one file's settle to the next, and the next `before` only takes the
 * node's identity from its `stats`, for the fence; a restart since shows in the next after-reading.
 */
import type { ServerAddress } from '../config/servers.js';
import { SpoolError, type MemcLoadError } from '../errors.js';
import { stats } from '../memcached/admin.js';
import { EvictionWatch, type LossReport, type StatsReader } from '../memcached/eviction-watch.js';
import { identityOf, type Identity } from '../memcached/restart-rule.js';

export type { Identity } from '../memcached/restart-rule.js';

/** A node as `stats` tells it, read by this apply at `at` (Date.now()). */
export interface NodeIdentity {
  readonly pid: string;
  readonly uptime: number;
  readonly at: number;
}

/** What the node lost over the apply; `error` says why its acknowledged records cannot be trusted. */
export interface NodeLosses {
  readonly evictions: number;
  readonly storeNoMemory: number;
  readonly error: MemcLoadError | null;
  /** The node as read after the apply, on its own clock; null when unread. */
  readonly node: Identity | null;
}

export class NodeCounters {
  readonly #server: string;
  readonly #timeoutMs: number;
  readonly #watch: EvictionWatch;
  /** The last `stats` reply the watch read: the identity comes from the same reply. */
  #reply: Readonly<Record<string, string>> | null = null;
  #baseline: LossReport | null = null;
  /** Where the watch's next reading comes from. */
  #read: StatsReader = stats;
  /** An after-reading was taken: the next apply's baseline, carried. */
  #carried = false;

  constructor(address: ServerAddress, timeoutMs: number) {
    this.#server = address.label;
    this.#timeoutMs = timeoutMs;
    this.#watch = new EvictionWatch([address], async (a, ms) => (this.#reply = await this.#read(a, ms)));
  }

  /**
   * The baseline from `told`, the connection's `stats` reply (null: it answered an error); the
   * node as read, or null (then every fence record is kept, none dropped as a restart's).
   */
  async before(told: Readonly<Record<string, string>> | null): Promise<NodeIdentity | null> {
    if (this.#carried) {
      this.#baseline = null; // the last after-reading, which was clean: nothing unknown
      return identify(told);
    }
    this.#reply = null;
    this.#read = async () => {
      if (told === null) throw new Error('it answered `stats` with an error');
      return told;
    };
    this.#baseline = await this.#watch.read(this.#timeoutMs);
    return identify(this.#reply as Readonly<Record<string, string>> | null); // set by the watch's read, which TypeScript cannot follow
  }

  /**
   * The rise since `before()`, judged for `file`: a restart, or (with `failOnEvictions`) evictions
   * or an unknown rise, is an error. `asked`: the connection's `stats`, asked once every set had
   * settled; null, or failing (its socket lost), the node is read over a socket of its own.
   */
  async after(failOnEvictions: boolean, file: string, asked: Promise<Readonly<Record<string, string>>> | null): Promise<NodeLosses> {
    this.#reply = null;
    this.#read = asked === null ? stats : (a, ms) => asked.catch(() => stats(a, ms));
    const loss = await this.#watch.read(this.#timeoutMs);
    this.#carried = true;
    const s = this.#reply as Readonly<Record<string, string>> | null;
    let node: Identity | null = null;
    try {
      node = s === null ? null : identityOf(s);
    } catch {
      // A reply without a usable `time` or `uptime`: the commit then reads the node itself.
    }
    return { ...this.#charge(loss, failOnEvictions, file), node };
  }

  #charge(loss: LossReport, failOnEvictions: boolean, file: string): Omit<NodeLosses, 'node'> {
    const server = this.#server;
    const evictions = loss.evictions[server] ?? 0;
    const storeNoMemory = loss.storeNoMemory[server] ?? 0;
    const restart = loss.restarts[server];
    if (restart !== undefined) {
      const error = new SpoolError(`${file}: memcached ${server} restarted while its segment was applied (${restart.evidence}); what it acknowledged is gone: apply the file again`, { file, server });
      return { evictions, storeNoMemory, error };
    }
    let error: MemcLoadError | null = null;
    const unknown = loss.unknown[server] ?? this.#baseline?.unknown[server];
    if (failOnEvictions && unknown !== undefined) {
      error = new SpoolError(`${file}: evictions on ${server} unknown: ${unknown} (--fail-on-evictions)`, { file, server });
    }
    if (failOnEvictions && evictions + storeNoMemory > 0) {
      error ??= new SpoolError(
        `${file}: memcached ${server} evicted ${evictions} item(s) and refused ${storeNoMemory} store(s) for lack of memory while its segment was applied (--fail-on-evictions); give the server more memory (docs/operations.md)`,
        { file, server },
      );
    }
    return { evictions, storeNoMemory, error };
  }
}

function identify(s: Readonly<Record<string, string>> | null): NodeIdentity | null {
  const uptime = Number(s?.['uptime']);
  return s === null || s['pid'] === undefined || !Number.isFinite(uptime) ? null : { pid: s['pid'], uptime, at: Date.now() };
}
