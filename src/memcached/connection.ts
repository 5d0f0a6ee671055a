/**
 * One socket to one memcached server at a time, with pipelined quiet batches and the
 * `stream.write` contract: `send()` returns false when full and `'drain'` follows. Its parts:
 * batch-queue.ts (the batches, their replies; a diagram), socket-opening.ts + handshake.ts (what a
 * socket learns before its first set; the reconnect fence), conn-clock.ts (the one timer, backoff,
 * give-up), conn-socket.ts (open, reset), conn-stats.ts (`stats` once idle). The state machine:
 *
 *   idle ─► connecting ─► handshake ─► connected ─(lost)─► backoff ─► connecting …
 *                           │ fence: nothing is written while an abandoned socket is listed
 *                           └─(out of retries)─► gone: everything settles as not delivered
 *
 * - We read whenever data arrives, even while our writes are backed up: memcached stops reading
 *   a connection whose replies it cannot send, so a writer that waits to read deadlocks.
 * - Every failure (timeout, socket error, peer close, protocol error, a fence not confirmed)
 *   ends the socket, with an RST where we end it, and its 'close' handler is the only place that
 *   recovers: the unacknowledged batches, at the queue's head in send order, become pending again
 *   and are written first on the next socket, once its fence has passed. `ms` is idempotent,
 *   and nothing of the old socket can be applied any more, so the last writer still wins.
 * - An optional write gate is asked before every burst of batches, resends included: closed, the
 *   socket is reset and everything queued fails (the cluster's lease, one per job: `nextJob`,
 *   docs/protocol.md "The takeover fence"; the single host passes none: one branch per burst).
 *
 * Events: 'connect'; 'disconnect' (err) when an open socket is lost or an outage begins; 'gone'
 * (ServerGoneError); 'drain'. Tracing: conn-socket.ts.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { ServerAddress } from '../config/servers.js';
import { ClosedError, ERROR_CODES, MemcLoadError } from '../errors.js';
import type { Batch, BatchOutcome } from './batch.js';
import { BatchQueue } from './batch-queue.js';
import { abandon, boundAt, checkFenced, closedByPeer, debug, destroyedError, endSocket, openSocket, socketError, trace } from './conn-socket.js';
import { Ending } from './conn-end.js';
import { ConnClock, type ClockAction } from './conn-clock.js';
import { StatsAsk } from './conn-stats.js';
import { MAX_REPLY_VALUE_BYTES, resolveOptions, type ConnectionOptions, type ConnectionState, type JobHooks, type ResolvedOptions } from './connection-options.js';
import { ResponseParser, type Reply } from './response-parser.js';
import { Carried, Opening, type OpeningHost } from './socket-opening.js';

export { CONNECTION_DEFAULTS, type ConnectionOptions, type ConnectionState, type JobHooks } from './connection-options.js';
type Phase = Exclude<ConnectionState, 'closing'>;
export type OutcomeCallback = (outcome: BatchOutcome) => void;

export class MemcachedConnection extends EventEmitter {
  readonly #address: ServerAddress;
  readonly #onOutcome: OutcomeCallback;
  readonly #o: ResolvedOptions;
  readonly #parser: ResponseParser;
  readonly #queue: BatchQueue;
  #socket: Socket | null = null;
  #phase: Phase = 'idle';
  readonly #end = new Ending();
  #needDrain = false;
  readonly #clock: ConnClock;
  /** Why the current socket is going down; the first cause wins. */
  #failure: Error | null = null;
  #everConnected = false;
  #reconnects = 0;
  /** The current socket's opening (its identity on the server, once told); null before TCP is up. */
  #opening: Opening | null = null;
  readonly #openingHost: OpeningHost;
  /** The largest key + value the server stores (stats settings); null while unknown. */
  #itemLimit: number | null = null;
  /** The sockets to fence, the port to rebind, the `stats` first: from one socket to the next. */
  readonly #carry: Carried;
  /** A `stats` asked over the open socket (stats()), until its reply ends. */
  #asking: StatsAsk | null = null;

  constructor(address: ServerAddress, options: ConnectionOptions, onOutcome: OutcomeCallback) {
    super();
    this.#address = address;
    this.#onOutcome = onOutcome;
    this.#o = resolveOptions(options);
    this.#parser = new ResponseParser({ server: address.label, maxValueBytes: MAX_REPLY_VALUE_BYTES });
    this.#queue = new BatchQueue(address.label);
    this.#clock = new ConnClock(address.label, this.#o, () => ({ phase: this.#phase, socket: this.#socket, inFlight: this.#busy }), this.#onExpiry);
    const { responseTimeoutMs, writeGate, beforeWrites, onStats } = this.#o;
    const carry = (this.#carry = new Carried(this.#o.fenceFirst, { writeGate, beforeWrites, onStats }));
    this.#openingHost = {
      label: address.label, responseTimeoutMs, carry,
      clock: this.#clock,
      current: (socket) => socket === this.#socket && this.#phase === 'handshake',
      fail: (socket, err) => this.#fail(socket, socketError(this.label, err)),
      ready: () => this.#ready(),
    };
  }

  get address(): ServerAddress { return this.#address; }
  get label(): string { return this.#address.label; }
  get state(): ConnectionState { return this.#end.closing && this.#end.error === null ? 'closing' : this.#phase; }
  /** The server has answered a handshake on some socket of this connection. */
  get everConnected(): boolean { return this.#everConnected; }
  /** Bytes of batches queued or in flight (not yet settled). */
  get bufferedBytes(): number { return this.#queue.bytes; }
  get inFlightBatches(): number { return this.#queue.inFlight; }
  get pendingBatches(): number { return this.#queue.pending; }
  /** Sockets re-established after a failure, over the connection's life. */
  get reconnects(): number { return this.#reconnects; }
  /** Requests awaiting replies: batches, and a `stats` asked. */
  get #busy(): number { return this.#queue.inFlight + (this.#asking === null ? 0 : 1); }

  /** The open socket, once everything queued has settled and nothing is asked on it. */
  get #idle(): Socket | null { return this.#phase === 'connected' && this.#queue.length === 0 && this.#asking === null ? this.#socket : null; }

  /** A plain `stats` over the open socket once everything queued has settled; null without such a socket (ask over another). */
  stats(): Promise<Readonly<Record<string, string>>> | null {
    const socket = this.#idle;
    if (socket === null) return null;
    this.#asking = new StatsAsk(this.label, socket);
    this.#clock.writing(socket);
    return this.#asking.done;
  }

  /**
   * Hands the idle socket to a new job (the cluster's next file on its node): its hooks replace the
   * last job's; no set before its onStats, fence (`stats conns` here) and beforeWrites. False: none.
   */
  nextJob(job: JobHooks): boolean {
    const socket = this.#idle;
    if (socket === null || this.#end.closing) return false;
    this.#carry.nextJob(job);
    this.#onConnect(socket, { itemLimit: this.#itemLimit });
    return true;
  }

  /** Starts connecting now instead of at the first send(). */
  connect(): void {
    if (this.#phase === 'idle' && this.#end.error === null) this.#connect();
  }

  /** Queues a batch; false when the buffer is full ('drain' follows). Outcomes come in send order. */
  send(batch: Batch): boolean {
    checkFenced(batch, this.label);
    this.#queue.push(batch);
    if (this.#end.error !== null) this.#end.later((err) => this.#failAll(err));
    else if (this.#phase === 'idle') this.#connect();
    else if (this.#phase === 'connected') this.#pump();
    if (this.#queue.bytes < this.#o.maxBufferedBytes) return true;
    this.#needDrain = true;
    return false;
  }

  /** A server given up on gets a fresh budget once all queued has settled (watch mode's next round); the fence's list stays. True if it was gone. */
  revive(): boolean {
    if (this.#phase !== 'gone' || this.#end.closing || this.#queue.length > 0) return false;
    this.#phase = 'idle';
    this.#end.error = null;
    this.#clock.outageOver();
    debug('%s revived: the next send connects again', this.label);
    return true;
  }

  /** Resolves once every queued batch has its outcome and the socket is closed. */
  close(): Promise<void> {
    const done = this.#end.wait();
    this.#maybeFinishClose();
    return done;
  }

  /** Fails every queued batch now (DestroyedError, with `err` as cause) and drops the socket. */
  destroy(err?: Error): void {
    if (this.#phase === 'destroyed') return;
    const error = destroyedError(this.label, err);
    this.#phase = 'destroyed';
    this.#end.error = error;
    this.#clock.stop();
    const socket = this.#socket;
    this.#socket = null; // its handlers now ignore it
    if (socket !== null) abandon(socket);
    this.#asking = this.#asking?.fail(error) ?? null;
    this.#failAll(error);
    this.#end.resolve();
  }

  #connect(): void {
    this.#phase = 'connecting';
    this.#failure = null;
    this.#opening = null;
    this.#parser.reset();
    trace.connecting(this.label, this.#clock.attempts, this.#carry.rebind?.port ?? null);
    const socket: Socket = openSocket(this.#address, this.#carry.rebind, {
      connect: () => this.#onConnect(socket),
      data: (chunk) => this.#onData(socket, chunk),
      drain: () => this.#onSocketDrain(socket),
      error: (err, portTaken) => {
        if (portTaken) this.#carry.rebind = null;
        if (socket === this.#socket) this.#failure ??= err;
      },
      close: () => this.#onClose(socket),
    });
    this.#socket = socket;
    this.#clock.connecting();
  }

  /** TCP is up (`known`: was, for a new job): nothing is written before the handshake has answered (and fenced). */
  #onConnect(socket: Socket, known?: { readonly itemLimit: number | null }): void {
    if (socket !== this.#socket) return;
    this.#phase = 'handshake';
    this.#opening = new Opening(socket, this.#openingHost, known);
  }

  #ready(): void {
    this.#itemLimit = (this.#opening as Opening).itemLimit;
    this.#phase = 'connected';
    this.#clock.stop();
    if ((this.#everConnected || this.#clock.attempts > 0) && !(this.#opening as Opening).reopened) this.#reconnects++;
    this.#everConnected = true;
    trace.connect(this.label, this.#clock.attempts);
    this.emit('connect');
    this.#pump();
  }

  /** Writes pending batches, up to the in-flight limit, in one corked burst. */
  #pump(): void {
    const socket = this.#socket;
    // While the socket is backed up we wait for its 'drain'; send()'s byte limit bounds the rest.
    if (this.#phase !== 'connected' || socket === null || socket.writableNeedDrain) return;
    const q = this.#queue;
    const limit = Math.min(q.length, this.#o.maxInFlightBatches);
    if (q.inFlight >= limit) return;
    const gate = this.#carry.gate;
    const shut = gate === null ? null : gate(); // the single host has no gate: one branch
    if (shut !== null) return this.destroy(shut);
    const wasIdle = q.inFlight === 0;
    const many = limit - q.inFlight > 1;
    if (many) socket.cork(); // one writev for the burst instead of a syscall per batch
    while (q.inFlight < limit) socket.write(q.takeNext(this.#itemLimit));
    if (many) socket.uncork();
    if (wasIdle) this.#clock.writing(socket);
  }

  #onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.#socket) return;
    try {
      this.#parser.feed(chunk, this.#onReply);
    } catch (err) {
      if (!(err instanceof MemcLoadError && err.code === ERROR_CODES.PROTOCOL)) throw err;
      this.#fail(socket, err);
      return;
    }
    if (socket !== this.#socket || this.#phase !== 'connected') return; // settled, closed or destroyed meanwhile
    if (this.#busy > 0) this.#clock.progress();
    else this.#clock.stop();
    this.#pump();
  }

  readonly #onReply = (reply: Reply): void => {
    if (this.#phase === 'handshake') {
      (this.#opening as Opening).reply(reply);
      return;
    }
    if (this.#phase !== 'connected') return; // destroyed or closed by a callback mid-chunk
    if (this.#asking !== null) {
      if (this.#asking.reply(reply)) this.#asking = null;
      return;
    }
    const outcome = this.#queue.reply(reply);
    if (outcome === null) return;
    this.#clock.outageOver(); // the server took a whole batch
    this.#onOutcome(outcome);
    this.#maybeDrain();
    this.#maybeFinishClose();
  };

  #onSocketDrain(socket: Socket): void {
    if (socket !== this.#socket) return;
    if (this.#busy > 0) this.#clock.progress(); // our bytes moved
    this.#pump();
  }

  /** Every failure comes here: the socket is reset and its 'close' does the rest. */
  #fail(socket: Socket, err: Error): void {
    this.#failure ??= err;
    if (socket.connecting) return void socket.destroy(err);
    if (this.#phase === 'connected' && this.#queue.inFlight > 0) this.#carry.rebind = boundAt(socket) ?? this.#carry.rebind;
    abandon(socket);
  }

  #onClose(socket: Socket): void {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#clock.stop();
    this.#asking = this.#asking?.fail(this.#failure ?? closedByPeer(this.label, false)) ?? null;
    if (this.#phase === 'closed') {
      this.#end.resolve();
      return;
    }
    const err = this.#failure ?? closedByPeer(this.label, this.#parser.pendingBytes > 0);
    this.#failure = null;
    const wasConnected = this.#phase === 'connected';
    // Its writes may still be applied by the server: the next socket waits until it is gone.
    if (wasConnected && this.#queue.inFlight > 0) this.#carry.stale.push(this.#opening?.self ?? null);
    this.#opening = null;
    // Unacknowledged batches are the queue's head, in send order: they become pending again.
    const inFlight = this.#queue.requeue();
    this.#phase = 'idle';
    if (wasConnected || this.#clock.attempts === 0) {
      trace.disconnect(this.label, err, inFlight, this.#queue.pending - inFlight);
      this.emit('disconnect', err);
    }
    if (this.#phase !== 'idle') return; // a listener destroyed us
    if (this.#queue.length === 0) {
      this.#clock.outageOver(); // nothing lost; the next send() reconnects with a fresh budget
      this.#maybeFinishClose();
      return;
    }
    const step = this.#clock.failed(err, this.#everConnected);
    if (step.kind === 'retry') {
      this.#phase = 'backoff';
      return;
    }
    this.#phase = 'gone';
    this.#end.error = step.error;
    trace.gone(this.label, step.error);
    this.emit('gone', step.error);
    this.#failAll(step.error);
  }

  /** Settles every queued batch as not delivered, in order. */
  #failAll(error: Error): void {
    for (const outcome of this.#queue.failAll(error)) this.#onOutcome(outcome);
    this.#maybeDrain();
    this.#maybeFinishClose();
  }

  #maybeDrain(): void {
    if (this.#needDrain && this.#queue.bytes < this.#o.maxBufferedBytes) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  #maybeFinishClose(): void {
    if (!this.#end.closing || this.#queue.length > 0) return;
    if (this.#phase === 'gone' || this.#phase === 'destroyed' || this.#phase === 'closed') {
      this.#end.resolve();
      return;
    }
    this.#phase = 'closed';
    this.#end.error = new ClosedError(`connection to ${this.label} closed`, { server: this.label });
    this.#clock.stop();
    endSocket(this.#socket, () => this.#end.resolve());
  }

  readonly #onExpiry = (next: ClockAction): void => {
    if (next.kind === 'connect') this.#connect();
    else if (next.kind === 'ask') this.#opening?.ask();
    else this.#fail(this.#socket as Socket, next.error);
  };
}
