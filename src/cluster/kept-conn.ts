/**
 * A worker's memcached connections kept across its successive applies on a node (issue #18
 * item 1): the next file's apply on the node takes the open socket instead of connecting again
 * (docs/architecture.md "The apply's connection").
 *
 * An apply hands its connection back only when it ended clean: every write acknowledged, its
 * fence record released, its after-reading taken over the socket, its lease held to the end.
 * The socket then sits idle, recorded under no job: nothing of it is unacknowledged, so no later
 * holder needs to wait for it. The next apply takes it with its own hooks (nextJob: its lease's
 * gate, its fence read and polled over this socket, its record before its first write), or opens
 * a new connection when none is kept, its options differ, or its socket was lost meanwhile.
 *
 * A kept connection is closed after `idleMs` unused, when its socket is lost (the next apply
 * connects anew, as before), and when the worker stops.
 */
import type { MemcachedConnection, OutcomeCallback } from '../memcached/connection.js';
import type { NodeCounters } from './node-counters.js';

/** How long a node's connection is kept unused: long enough for the next file, short enough not to pile up. */
export const KEEP_IDLE_MS = 5000;

export interface KeptConnection {
  readonly conn: MemcachedConnection;
  /** The node's counters after the last apply: the next apply's baseline. */
  readonly counters: NodeCounters;
  /** Where the connection's outcomes go: the apply using it now. */
  readonly route: { to: OutcomeCallback };
  /** The node's address and the connection's options: an apply with others opens its own. */
  readonly fingerprint: string;
}

interface Entry {
  readonly kept: KeptConnection;
  readonly timer: NodeJS.Timeout;
  readonly lost: () => void;
}

export class KeptConnections {
  readonly #idleMs: number;
  readonly #entries = new Map<string, Entry>();
  /** close() was called: an apply that ends after the worker's stop keeps nothing. */
  #closed = false;

  constructor(idleMs = KEEP_IDLE_MS) {
    this.#idleMs = idleMs;
  }

  /** Connections kept now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The connection kept for `server`, if its socket is open and its options are `fingerprint`; no longer kept either way. */
  take(server: string, fingerprint: string): KeptConnection | null {
    const e = this.#entries.get(server);
    if (e === undefined) return null;
    this.#forget(server, e);
    if (e.kept.fingerprint === fingerprint && e.kept.conn.state === 'connected') return e.kept;
    void e.kept.conn.close();
    return null;
  }

  /** Keeps `kept` for the next apply on `server` (its apply ended clean). */
  give(server: string, kept: KeptConnection): void {
    this.drop(server);
    // Else its socket would hold the stopped process open until the idle timer (unref'd) closed it.
    if (this.#closed) return void kept.conn.close();
    const lost = () => this.drop(server);
    kept.conn.on('disconnect', lost);
    const timer = setTimeout(lost, this.#idleMs).unref();
    this.#entries.set(server, { kept, timer, lost });
  }

  /** Closes the connection kept for `server`, if any. */
  drop(server: string): void {
    const e = this.#entries.get(server);
    if (e === undefined) return;
    this.#forget(server, e);
    void e.kept.conn.close();
  }

  /** Closes every kept connection (the worker stops). */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#entries];
    for (const [server, e] of all) this.#forget(server, e);
    await Promise.all(all.map(([, e]) => e.kept.conn.close()));
  }

  #forget(server: string, e: Entry): void {
    clearTimeout(e.timer);
    e.kept.conn.off('disconnect', e.lost);
    this.#entries.delete(server);
  }
}
