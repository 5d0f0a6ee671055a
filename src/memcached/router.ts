/**
 * The route stage: one lane per memcached node (pool/lanes.ts). A lane is the node's one
 * connection (its order, handshake, fence, retries), the send times of its unsettled batches, and
 * its eviction baseline. Batches go in per lane in sequence order; each one comes back once, as a
 * BatchSettled with its counts already worked out, which every listener (the file's counters,
 * the metrics, the progress line) takes as it is.
 *
 *   send(lane, batch) ──► MemcachedConnection ──► MN / error replies / given up
 *                                                        │
 *   onSettled(BatchSettled) ◄── counts, once ◄───────────┘
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import type { ServerAddress } from '../config/servers.js';
import { EvictionWatch, type LossReport } from './eviction-watch.js';
import type { Batch, BatchFailure, BatchOutcome } from './batch.js';
import { MemcachedConnection, type ConnectionOptions } from './connection.js';

/** A batch's outcome as counts, worked out once for every listener. */
export interface BatchSettled {
  readonly server: string;
  /** The batch's tag: the file's index in the run. */
  readonly tag: number;
  readonly records: number;
  /** The fence was acknowledged. Otherwise the server was given up on and nothing is known stored. */
  readonly delivered: boolean;
  /** Records memcached stored. */
  readonly loaded: number;
  /** Records too large for the server's items: rejected lines, `too_large`. */
  readonly tooLarge: number;
  /** Records not written: refused by an error reply, or all of them when not delivered. */
  readonly failed: number;
  /** `failed` by reason (the reply line, or the error code when not delivered). */
  readonly failedByReason: Readonly<Record<string, number>>;
  /** The error replies (capped), for the log. */
  readonly failures: readonly BatchFailure[];
  /** Why the batch was not delivered (names the server); null when it was. */
  readonly error: Error | null;
  /** From send to acknowledgement; null when not delivered. */
  readonly latencySeconds: number | null;
  /** The batch's frame buffer, which nothing reads any more: for reuse. */
  readonly frames: ArrayBuffer;
}

export interface RouterEvents {
  settled(s: BatchSettled): void;
  /** A full lane has room again. */
  room(): void;
  up(server: string): void;
  /** A socket was lost and the lane is reconnecting; `reached`: the server ever answered this lane. */
  lost(server: string, err: Error, reached: boolean): void;
  /** The lane's server was given up for the run. */
  gone(server: string, err: Error): void;
}

/**
 * A batch's records as stored, too large, and not written: a batch not delivered counts every
 * record failed, whatever replies came before the connection was given up.
 */
export function outcomeCounts(o: BatchOutcome): { loaded: number; tooLarge: number; failed: number } {
  const records = o.batch.records;
  return o.delivered ? { loaded: records - o.failed - o.tooLarge, tooLarge: o.tooLarge, failed: o.failed } : { loaded: 0, tooLarge: 0, failed: records };
}

/** The connection settings of a run's lanes, from its options. */
export function laneOptions(o: Pick<ConnectionOptions, 'connectTimeoutMs' | 'responseTimeoutMs' | 'retries' | 'maxBufferedBytes'>): ConnectionOptions {
  return { connectTimeoutMs: o.connectTimeoutMs, responseTimeoutMs: o.responseTimeoutMs, retries: o.retries, maxBufferedBytes: o.maxBufferedBytes };
}

export class Router {
  readonly #lanes: MemcachedConnection[];
  /** Per lane: when each unsettled batch was sent, oldest first (outcomes come in send order). */
  readonly #sentAt: number[][];
  readonly #full = new Set<number>();
  readonly #evictions: EvictionWatch;
  /** Lanes whose socket was lost and that have not connected since. */
  readonly #down = new Set<number>();
  /** probeDown's sockets in flight, by lane: close and destroy end them. */
  readonly #probes = new Map<number, Socket>();

  /** `hints[i]`: what to check when lane i's server is never reached (e.g. the flag that names it). */
  constructor(servers: readonly ServerAddress[], options: ConnectionOptions, events: RouterEvents, hints: readonly string[] = []) {
    this.#sentAt = servers.map(() => []);
    this.#lanes = servers.map((address, i) => {
      const label = address.label;
      const hint = hints[i];
      const laneOptions = hint === undefined ? options : { ...options, unreachableHint: hint };
      const lane = new MemcachedConnection(address, laneOptions, (o) => events.settled(this.#settled(i, label, o)));
      lane.on('connect', () => {
        this.#down.delete(i);
        events.up(label);
      });
      lane.on('drain', () => {
        this.#full.delete(i);
        events.room();
      });
      lane.on('disconnect', (err: Error) => {
        this.#down.add(i);
        events.lost(label, err, lane.everConnected);
      });
      lane.on('gone', (err: Error) => events.gone(label, err));
      return lane;
    });
    this.#evictions = new EvictionWatch(servers);
  }

  /** Queues a batch on a lane, in order after what was sent to it before. */
  send(lane: number, batch: Batch): void {
    this.#sentAt[lane]?.push(performance.now());
    if (!(this.#lanes[lane] as MemcachedConnection).send(batch)) this.#full.add(lane);
  }

  /** Some lane holds --max-buffered-bytes: reading waits for `room`. */
  get full(): boolean {
    return this.#full.size > 0;
  }

  /** Bytes queued or unacknowledged, per server. */
  bufferedBytes(): Record<string, number> {
    return Object.fromEntries(this.#lanes.map((l) => [l.label, l.bufferedBytes]));
  }

  /**
   * What every server lost since the last reading (evictions, refused stores, restarts). A lane
   * given up on is not asked: it would only cost a timeout per file.
   */
  readLosses(timeoutMs: number, firstAck?: (server: string) => number | undefined): Promise<LossReport> {
    const skip = (server: string): string | null => {
      const state = this.#lanes.find((l) => l.label === server)?.state;
      return state === 'gone' || state === 'destroyed' ? `its connection is ${state}` : null;
    };
    return this.#evictions.read(timeoutMs, skip, firstAck);
  }

  /** Lanes whose server was given up on get a fresh retry budget; returns their servers. */
  revive(): string[] {
    return this.#lanes.filter((l) => l.revive()).map((l) => l.label);
  }

  /**
   * A lane reconnects when it is next sent a batch, so an idle one whose server was lost shows it
   * down (memc_load_server_up 0, /healthz) until then, though the server may be back: a watch
   * between files calls this on its scan interval. Each idle lane that is down gets a TCP connect
   * to its server, and reconnects (handshake and all) once one succeeds. A refused probe says
   * nothing: the loss was said when it happened.
   */
  probeDown(timeoutMs: number): void {
    for (const i of this.#down) {
      const lane = this.#lanes[i] as MemcachedConnection;
      if (lane.state !== 'idle' || this.#probes.has(i)) continue;
      const socket = tcpConnect({ host: lane.address.host, port: lane.address.port });
      this.#probes.set(i, socket);
      const end = () => {
        socket.destroy();
        if (this.#probes.get(i) === socket) this.#probes.delete(i);
      };
      socket.setTimeout(timeoutMs, end);
      socket.once('error', end);
      socket.once('connect', () => {
        end();
        lane.connect();
      });
    }
  }

  /** Waits for every outcome, then closes the sockets. */
  async close(): Promise<void> {
    this.#endProbes();
    await Promise.allSettled(this.#lanes.map((l) => l.close()));
  }

  /** Fails everything queued at once (as not delivered, with `err`) and drops the sockets. */
  destroy(err?: Error): void {
    this.#endProbes();
    for (const l of this.#lanes) l.destroy(err);
  }

  #endProbes(): void {
    for (const socket of this.#probes.values()) socket.destroy();
    this.#probes.clear();
  }

  #settled(lane: number, server: string, o: BatchOutcome): BatchSettled {
    const sent = this.#sentAt[lane]?.shift() ?? performance.now();
    return {
      server,
      tag: o.batch.tag,
      records: o.batch.records,
      delivered: o.delivered,
      ...outcomeCounts(o),
      failedByReason: o.failedByReason,
      failures: o.failures,
      error: o.delivered ? null : (o.error ?? null),
      latencySeconds: o.delivered ? (performance.now() - sent) / 1000 : null,
      frames: o.batch.buf.buffer as ArrayBuffer,
    };
  }
}
