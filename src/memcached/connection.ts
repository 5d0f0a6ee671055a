/**
 * One socket to one memcached server at a time, with pipelined quiet batches and the
 * `stream.write` contract: `send()` returns false when full and `'drain'` follows. The batches
 * and what their replies mean are BatchQueue's (batch-queue.ts, with its diagram); what a socket
 * must learn before its first set, and the reconnect fence, are Handshake's (handshake.ts).
 * This file is the socket's life: connect, handshake, pump, timers, loss, backoff, give-up.
 * It stays over 300 lines because those are one state machine, sharing one timer and one
 * socket, and splitting it further would spread a single transition over several files.
 *
 *   idle ─► connecting ─► handshake ─► connected ─(lost)─► backoff ─► connecting …
 *                           │ fence: nothing is written while an abandoned socket is listed
 *                           └─(out of retries)─► gone: everything settles as not delivered
 *
 * - We read whenever data arrives, even while our writes are backed up: memcached stops reading
 *   a connection whose replies it cannot send, so a writer that waits to read deadlocks.
 * - One timer per connection, doing one job at a time: connect timeout, then response timeout
 *   (armed during the handshake and while batches are in flight, re-armed by every reply chunk
 *   or socket drain), the fence's next poll, or the reconnect backoff. Every failure — timeout,
 *   socket error, peer close, protocol error, a fence not confirmed — ends the socket (with an
 *   RST where we end it), and its 'close' handler is the only place that recovers.
 * - Recovery: unacknowledged batches are already at the front of the queue in send order; they
 *   become pending again with their error counts cleared, and are written first on the next
 *   socket, once its fence has passed. Resending is safe: `ms` is idempotent, and since nothing
 *   of the old socket can be applied any more, the last writer still wins.
 * - One retry budget per outage (attempts and elapsed time); an `MN` acknowledged on a new socket
 *   ends the outage. Out of budget, the server is "gone" for the rest of the run: everything
 *   queued, and everything sent later, settles at once as not delivered, so a run ends, until
 *   `revive()` (watch mode's next round) gives it a fresh budget.
 *
 * Events: 'connect'; 'disconnect' (err) when an open socket is lost or an outage begins;
 * 'gone' (ServerGoneError); 'drain'. Trace with NODE_DEBUG=memc-load, or subscribe to the
 * diagnostics channels memc-load:connection:{connecting,connect,disconnect,backoff,gone}.
 */
import { EventEmitter } from 'node:events';
import { channel } from 'node:diagnostics_channel';
import { connect as netConnect, type Socket } from 'node:net';
import { debuglog } from 'node:util';
import { DEFAULTS } from '../config/defaults.js';
import type { ServerAddress } from '../config/servers.js';
import {
  ClosedError,
  ConnectTimeoutError,
  DestroyedError,
  ERROR_CODES,
  FenceError,
  InvalidArgumentError,
  MemcLoadError,
  ProtocolError,
  ResponseTimeoutError,
  ServerGoneError,
  SocketError,
} from '../errors.js';
import type { Batch, BatchOutcome } from './batch.js';
import { BatchQueue } from './batch-queue.js';
import { connectFailure } from './connect-failure.js';
import { Handshake, HANDSHAKE_REQUEST, STATS_CONNS, type ConnIdentity, type HandshakeStep } from './handshake.js';
import { ResponseParser, type Reply } from './response-parser.js';

const debug = debuglog('memc-load');
const connectingChannel = channel('memc-load:connection:connecting');
const connectChannel = channel('memc-load:connection:connect');
const disconnectChannel = channel('memc-load:connection:disconnect');
const backoffChannel = channel('memc-load:connection:backoff');
const goneChannel = channel('memc-load:connection:gone');

export interface ConnectionOptions {
  /** TCP connect must complete within this. Default: DEFAULTS.connectTimeoutMs (config/defaults.ts). */
  readonly connectTimeoutMs?: number;
  /** No reply progress for this long with batches in flight (or during the handshake) drops the socket. Default: DEFAULTS.responseTimeoutMs. */
  readonly responseTimeoutMs?: number;
  /** Reconnect attempts in one outage before the server is given up. Default: DEFAULTS.retries. */
  readonly retries?: number;
  /** First reconnect delay; doubles per attempt, up to retryMaxDelayMs, jittered. Default 100. */
  readonly retryBaseDelayMs?: number;
  /** Default 3000. */
  readonly retryMaxDelayMs?: number;
  /** An outage lasting this long gives up at its next failure, whatever the attempts. Default 12000. */
  readonly giveUpAfterMs?: number;
  /** send() returns false once queued + in-flight bytes reach this. Default: DEFAULTS.maxBufferedBytes. */
  readonly maxBufferedBytes?: number;
  /** Batches written and not yet acknowledged, at most. Default 16. */
  readonly maxInFlightBatches?: number;
  /** Jitter source in [0, 1); for tests. Default Math.random. */
  readonly random?: () => number;
  /** What to check, told when the server was given up without ever being reached. */
  readonly unreachableHint?: string;
}

/**
 * Why these: a 2 s freeze (GC pause, SIGSTOP, failover) stays under the response timeout and
 * costs nothing; a dropped socket is back within ~100 ms. A server gone for good is given up
 * after 8 attempts with delays 100, 200, 400, 800, 1600, 3000, 3000, 3000 ms × [0.75, 1]:
 * 9–12 s when connects are refused. A frozen or blackholed server costs a timeout per attempt,
 * so giveUpAfterMs caps the outage (from the last sign of life, for a timeout) at ~12–15 s too.
 */
export const CONNECTION_DEFAULTS = {
  connectTimeoutMs: DEFAULTS.connectTimeoutMs,
  responseTimeoutMs: DEFAULTS.responseTimeoutMs,
  retries: DEFAULTS.retries,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 3000,
  giveUpAfterMs: 12_000,
  /** Dozens of batches per server (the pipeline's chunks split four ways); 4 servers: 32 MiB at most. */
  maxBufferedBytes: DEFAULTS.maxBufferedBytes,
  /** Far above the bandwidth-delay product of a LAN; bounds the resend after a failure. */
  maxInFlightBatches: 16,
  unreachableHint: 'is memcached running there?',
} as const;

export type ConnectionState =
  | 'idle'
  | 'connecting'
  | 'handshake'
  | 'connected'
  | 'backoff'
  | 'closing'
  | 'closed'
  | 'gone'
  | 'destroyed';
type Phase = Exclude<ConnectionState, 'closing'>;
type TimerJob = 'connect' | 'response' | 'backoff' | 'fence';

export type OutcomeCallback = (outcome: BatchOutcome) => void;

/**
 * A load connection only ever expects status lines and MN; a VA block would be a protocol error
 * anyway, so never allocate more than this for one (the parser's default allows 1 GiB).
 */
const MAX_VALUE_BYTES = 1024;

export class MemcachedConnection extends EventEmitter {
  readonly #address: ServerAddress;
  readonly #onOutcome: OutcomeCallback;
  readonly #o: Required<ConnectionOptions>;
  readonly #parser: ResponseParser;
  readonly #queue: BatchQueue;
  #socket: Socket | null = null;
  #phase: Phase = 'idle';
  #closing = false;
  #closeWaiters: (() => void)[] = [];
  #needDrain = false;
  #timer: NodeJS.Timeout | null = null;
  #timerJob: TimerJob | null = null;
  #timerMs = 0;
  #lastWritableLength = 0;
  /** Why the current socket is going down; the first cause wins. */
  #failure: Error | null = null;
  #attempts = 0;
  #outageStart = 0;
  #everConnected = false;
  #reconnects = 0;
  /** Set once gone, closed or destroyed: later sends settle with it. */
  #terminal: Error | null = null;
  #settleScheduled = false;
  /** The current socket's handshake; null outside the 'handshake' phase. */
  #handshake: Handshake | null = null;
  /** The largest key + value the server stores (stats settings); null while unknown. */
  #itemLimit: number | null = null;
  /** The current socket as the server lists it; null until its handshake tells. */
  #self: ConnIdentity | null = null;
  /** Abandoned sockets whose writes were unacknowledged: null where the server never told who they were. */
  #stale: (ConnIdentity | null)[] = [];
  /**
   * Where the last socket we reset was bound. Connecting again from the same address and port
   * makes a server that still holds the old connection (its RST was lost in a partition) answer
   * the new SYN with a challenge ACK; our kernel, knowing no such connection, resets it (RFC 5961,
   * 4.2), so the server lets the old one go and the fence can pass.
   */
  #rebind: { readonly address: string; readonly port: number } | null = null;

  constructor(address: ServerAddress, options: ConnectionOptions, onOutcome: OutcomeCallback) {
    super();
    this.#address = address;
    this.#onOutcome = onOutcome;
    this.#o = { ...CONNECTION_DEFAULTS, random: Math.random, ...stripUndefined(options) };
    this.#parser = new ResponseParser({ server: address.label, maxValueBytes: MAX_VALUE_BYTES });
    this.#queue = new BatchQueue(address.label);
  }

  get address(): ServerAddress {
    return this.#address;
  }
  get label(): string {
    return this.#address.label;
  }
  get state(): ConnectionState {
    return this.#closing && this.#terminal === null ? 'closing' : this.#phase;
  }
  /** The server has answered a handshake on some socket of this connection. */
  get everConnected(): boolean {
    return this.#everConnected;
  }
  /** Bytes of batches queued or in flight (not yet settled). */
  get bufferedBytes(): number {
    return this.#queue.bytes;
  }
  get inFlightBatches(): number {
    return this.#queue.inFlight;
  }
  get pendingBatches(): number {
    return this.#queue.pending;
  }
  /** Sockets re-established after a failure, over the connection's life. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Starts connecting now instead of at the first send(). */
  connect(): void {
    if (this.#phase === 'idle' && this.#terminal === null) this.#connect();
  }

  /** Queues a batch; false when the buffer is full ('drain' follows). Outcomes come in send order. */
  send(batch: Batch): boolean {
    // Without its fence a batch would never be acknowledged, and every later MN would be
    // charged to the wrong batch: refuse it outright.
    const { buf } = batch;
    const n = buf.byteLength;
    if (n < 4 || buf[n - 4] !== 0x6d || buf[n - 3] !== 0x6e || buf[n - 2] !== 0x0d || buf[n - 1] !== 0x0a) {
      throw new InvalidArgumentError(`a batch for ${this.label} must end with mn\\r\\n`, { server: this.label });
    }
    this.#queue.push(batch);
    if (this.#terminal !== null) this.#scheduleSettle();
    else if (this.#phase === 'idle') this.#connect();
    else if (this.#phase === 'connected') this.#pump();
    if (this.#queue.bytes < this.#o.maxBufferedBytes) return true;
    this.#needDrain = true;
    return false;
  }

  /**
   * A server given up on may be tried again, with a fresh retry budget, once everything queued
   * has settled: watch mode's next round does this, or a server down for 12 s would fail every
   * later file of the session without a connect. Abandoned sockets stay listed, so the fence
   * still holds back the first write until the server no longer has them. True if it was gone.
   */
  revive(): boolean {
    if (this.#phase !== 'gone' || this.#closing || this.#queue.length > 0) return false;
    this.#phase = 'idle';
    this.#terminal = null;
    this.#attempts = 0;
    debug('%s revived: the next send connects again', this.label);
    return true;
  }

  /** Resolves once every queued batch has its outcome and the socket is closed. */
  close(): Promise<void> {
    this.#closing = true;
    const done = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    this.#maybeFinishClose();
    return done;
  }

  /** Fails every queued batch now (DestroyedError, with `err` as cause) and drops the socket. */
  destroy(err?: Error): void {
    if (this.#phase === 'destroyed') return;
    const why = err ? `: ${err.message}` : '';
    const error = new DestroyedError(`connection to ${this.label} destroyed${why}`, { server: this.label, cause: err });
    this.#phase = 'destroyed';
    this.#terminal = error;
    this.#clearTimer();
    const socket = this.#socket;
    this.#socket = null; // its handlers now ignore it
    if (socket !== null) abandon(socket);
    this.#failAll(error);
    this.#resolveClose();
  }

  #connect(): void {
    this.#phase = 'connecting';
    this.#failure = null;
    this.#self = null;
    this.#parser.reset();
    const bind = this.#rebind === null ? {} : { localAddress: this.#rebind.address, localPort: this.#rebind.port };
    debug('%s connecting (attempt %d%s)', this.label, this.#attempts, this.#rebind === null ? '' : ` from port ${this.#rebind.port}`);
    if (connectingChannel.hasSubscribers) connectingChannel.publish({ server: this.label, attempts: this.#attempts, localPort: this.#rebind?.port ?? null });
    const socket = netConnect({ host: this.#address.host, port: this.#address.port, noDelay: true, keepAlive: true, ...bind });
    this.#socket = socket;
    this.#arm('connect', this.#o.connectTimeoutMs);
    socket.on('connect', () => this.#onConnect(socket));
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('drain', () => this.#onSocketDrain(socket));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The old port is taken by now: the next attempt takes any port.
      if (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL') this.#rebind = null;
      if (socket === this.#socket) this.#failure ??= this.#wrap(err);
    });
    socket.on('close', () => this.#onClose(socket));
  }

  /** TCP is up: nothing is written before the handshake has answered (and fenced, after a loss). */
  #onConnect(socket: Socket): void {
    if (socket !== this.#socket) return;
    this.#phase = 'handshake';
    const local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.#handshake = new Handshake(this.label, local, this.#stale, this.#o.responseTimeoutMs);
    socket.write(HANDSHAKE_REQUEST);
    this.#arm('response', this.#o.responseTimeoutMs);
  }

  #onHandshakeReply(socket: Socket, reply: Reply): void {
    const h = this.#handshake as Handshake;
    const step: HandshakeStep | null = h.reply(reply);
    if (step === null) throw new ProtocolError(`unexpected ${reply.kind} from ${this.label} in reply to stats`, { server: this.label });
    this.#itemLimit = h.itemLimit;
    this.#self = h.self;
    switch (step.kind) {
      case 'read':
        return;
      case 'ask':
        this.#ask(socket);
        return;
      case 'poll':
        this.#arm('fence', step.ms);
        return;
      case 'fail':
        this.#fail(socket, new FenceError(step.message, { server: this.label }));
        return;
      case 'ready':
        if (this.#stale.length > 0) debug('%s fence passed: the abandoned connection is closed on the server', this.label);
        this.#stale = [];
        this.#rebind = null;
        this.#ready();
    }
  }

  #ask(socket: Socket): void {
    (this.#handshake as Handshake).asked();
    socket.write(STATS_CONNS);
    this.#arm('response', this.#o.responseTimeoutMs);
  }

  #ready(): void {
    this.#handshake = null;
    this.#phase = 'connected';
    this.#clearTimer();
    if (this.#everConnected || this.#attempts > 0) this.#reconnects++;
    this.#everConnected = true;
    debug('%s connected', this.label);
    if (connectChannel.hasSubscribers) connectChannel.publish({ server: this.label, attempts: this.#attempts });
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
    const wasIdle = q.inFlight === 0;
    const many = limit - q.inFlight > 1;
    if (many) socket.cork(); // one writev for the burst instead of a syscall per batch
    while (q.inFlight < limit) socket.write(q.takeNext(this.#itemLimit));
    if (many) socket.uncork();
    if (wasIdle) {
      this.#lastWritableLength = socket.writableLength;
      this.#arm('response', this.#o.responseTimeoutMs);
    }
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
    if (this.#queue.inFlight > 0) this.#arm('response', this.#o.responseTimeoutMs); // progress
    else this.#clearTimer();
    this.#pump();
  }

  readonly #onReply = (reply: Reply): void => {
    if (this.#phase === 'handshake') {
      this.#onHandshakeReply(this.#socket as Socket, reply);
      return;
    }
    if (this.#phase !== 'connected') return; // destroyed or closed by a callback mid-chunk
    const outcome = this.#queue.reply(reply);
    if (outcome === null) return;
    this.#attempts = 0; // the server took a whole batch: any outage is over
    this.#onOutcome(outcome);
    this.#maybeDrain();
    this.#maybeFinishClose();
  };

  #onSocketDrain(socket: Socket): void {
    if (socket !== this.#socket) return;
    if (this.#queue.inFlight > 0) this.#arm('response', this.#o.responseTimeoutMs); // our bytes moved
    this.#pump();
  }

  /** Every failure comes here: the socket is reset and its 'close' does the rest. */
  #fail(socket: Socket, err: Error): void {
    this.#failure ??= err;
    if (socket.connecting) {
      socket.destroy(err);
      return;
    }
    if (this.#phase === 'connected' && this.#queue.inFlight > 0 && socket.localAddress !== undefined && socket.localPort !== undefined) {
      this.#rebind = { address: socket.localAddress, port: socket.localPort };
    }
    abandon(socket);
  }

  #onClose(socket: Socket): void {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#clearTimer();
    if (this.#phase === 'closed') {
      this.#resolveClose();
      return;
    }
    const midReply = this.#parser.pendingBytes > 0 ? ' in the middle of a reply' : '';
    const err = this.#failure ?? new SocketError(`${this.label} closed the connection${midReply}`, { server: this.label });
    this.#failure = null;
    const wasConnected = this.#phase === 'connected';
    this.#handshake = null;
    // Its writes may still be applied by the server: the next socket waits until it is gone.
    if (wasConnected && this.#queue.inFlight > 0) this.#stale.push(this.#self);
    // Unacknowledged batches are the queue's head, in send order: they become pending again.
    const inFlight = this.#queue.requeue();
    this.#phase = 'idle';
    if (wasConnected || this.#attempts === 0) {
      const pending = this.#queue.pending - inFlight;
      debug('%s disconnected (%d in flight, %d pending): %s', this.label, inFlight, pending, err.message);
      if (disconnectChannel.hasSubscribers) disconnectChannel.publish({ server: this.label, error: err, inFlight, pending });
      this.emit('disconnect', err);
    }
    if (this.#phase !== 'idle') return; // a listener destroyed us
    if (this.#queue.length === 0) {
      this.#attempts = 0; // nothing lost; the next send() reconnects with a fresh budget
      this.#maybeFinishClose();
      return;
    }
    const now = performance.now();
    if (this.#attempts === 0) this.#outageStart = now - this.#silentFor(err);
    this.#attempts++;
    if (this.#attempts > this.#o.retries || now - this.#outageStart >= this.#o.giveUpAfterMs) {
      this.#goGone(err, now);
      return;
    }
    const delay = this.#backoff(this.#attempts);
    debug('%s reconnecting in %d ms (attempt %d/%d)', this.label, delay, this.#attempts, this.#o.retries);
    if (backoffChannel.hasSubscribers) backoffChannel.publish({ server: this.label, delayMs: delay, attempts: this.#attempts, retries: this.#o.retries });
    this.#phase = 'backoff';
    this.#arm('backoff', delay);
  }

  /** How long the server had already been silent when this failure was detected. */
  #silentFor(err: Error): number {
    const code = (err as { code?: unknown }).code;
    if (code === ERROR_CODES.RESPONSE_TIMEOUT) return this.#o.responseTimeoutMs;
    if (code === ERROR_CODES.CONNECT_TIMEOUT) return this.#o.connectTimeoutMs;
    return 0;
  }

  /** Capped exponential backoff; jitter in [75%, 100%] spreads reconnects of many loaders. */
  #backoff(attempt: number): number {
    const cap = Math.min(this.#o.retryMaxDelayMs, this.#o.retryBaseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap * (0.75 + 0.25 * this.#o.random()));
  }

  #goGone(cause: Error, now: number): void {
    const secs = ((now - this.#outageStart) / 1000).toFixed(1);
    const why = cause.message.startsWith(`${this.label}: `) ? cause.message.slice(this.label.length + 2) : cause.message;
    // A server never reached at all is most likely not running there, or a wrong address: say so.
    const unreachable = this.#everConnected ? null : connectFailure(cause);
    const message =
      unreachable === null
        ? `gave up on memcached ${this.label} after ${this.#attempts} failed attempt(s) over ${secs} s: ${why}`
        : `could not connect to memcached ${this.label} after ${this.#attempts} attempt(s) over ${secs} s (${unreachable}): ${this.#o.unreachableHint}`;
    const error = new ServerGoneError(message, { server: this.label, cause });
    this.#phase = 'gone';
    this.#terminal = error;
    debug('%s gone: %s', this.label, error.message);
    if (goneChannel.hasSubscribers) goneChannel.publish({ server: this.label, error });
    this.emit('gone', error);
    this.#failAll(error);
  }

  /** Settles every queued batch as not delivered, in order. */
  #failAll(error: Error): void {
    for (const outcome of this.#queue.failAll(error)) this.#onOutcome(outcome);
    this.#maybeDrain();
    this.#maybeFinishClose();
  }

  /** After the end, sends still settle asynchronously (like a stream's write callback), in order. */
  #scheduleSettle(): void {
    if (this.#settleScheduled) return;
    this.#settleScheduled = true;
    setImmediate(() => {
      this.#settleScheduled = false;
      this.#failAll(this.#terminal as Error);
    });
  }

  #maybeDrain(): void {
    if (this.#needDrain && this.#queue.bytes < this.#o.maxBufferedBytes) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  #maybeFinishClose(): void {
    if (!this.#closing || this.#queue.length > 0) return;
    if (this.#phase === 'gone' || this.#phase === 'destroyed' || this.#phase === 'closed') {
      this.#resolveClose();
      return;
    }
    this.#phase = 'closed';
    this.#terminal = new ClosedError(`connection to ${this.label} closed`, { server: this.label });
    this.#clearTimer();
    const socket = this.#socket;
    if (socket === null) this.#resolveClose();
    else if (socket.connecting) socket.destroy();
    // Our FIN is enough: don't wait for the server's, a frozen server would never send it.
    else socket.end(() => socket.destroy());
  }

  #resolveClose(): void {
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #arm(job: TimerJob, ms: number): void {
    if (this.#timer !== null && this.#timerJob === job && this.#timerMs === ms) {
      this.#timer.refresh(); // cheaper than a new timer on every reply chunk
      return;
    }
    this.#clearTimer();
    this.#timerJob = job;
    this.#timerMs = ms;
    this.#timer = setTimeout(this.#onTimer, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerJob = null;
  }

  readonly #onTimer = (): void => {
    const job = this.#timerJob;
    this.#timer = null;
    this.#timerJob = null;
    const socket = this.#socket;
    if (job === 'backoff') {
      if (this.#phase === 'backoff') this.#connect();
    } else if (job === 'fence') {
      if (socket !== null && this.#phase === 'handshake') this.#ask(socket);
    } else if (job === 'response' && socket !== null && this.#phase === 'handshake') {
      const ms = this.#o.responseTimeoutMs;
      this.#fail(socket, new ResponseTimeoutError(`no reply from ${this.label} for ${ms} ms to stats (the connection's handshake)`, { server: this.label }));
    } else if (job === 'connect') {
      if (socket !== null && this.#phase === 'connecting') {
        const ms = this.#o.connectTimeoutMs;
        this.#fail(socket, new ConnectTimeoutError(`could not connect to ${this.label} within ${ms} ms`, { server: this.label }));
      }
    } else if (job === 'response' && socket !== null && this.#phase === 'connected' && this.#queue.inFlight > 0) {
      // Held while our own writes are backed up and still moving: the server is reading, and
      // the replies we wait for are behind the bytes we have not managed to send yet.
      if (socket.writableNeedDrain && socket.writableLength !== this.#lastWritableLength) {
        this.#lastWritableLength = socket.writableLength;
        this.#arm('response', this.#o.responseTimeoutMs);
        return;
      }
      const ms = this.#o.responseTimeoutMs;
      const msg = `no reply from ${this.label} for ${ms} ms with ${this.#queue.inFlight} batch(es) in flight`;
      this.#fail(socket, new ResponseTimeoutError(msg, { server: this.label }));
    }
  };

  #wrap(err: Error): Error {
    if (err instanceof MemcLoadError) return err;
    return new SocketError(`${this.label}: ${err.message}`, { server: this.label, cause: err });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Drops a socket with an RST (SO_LINGER 0): its unsent bytes are discarded instead of being
 * retransmitted to the server after we have moved on (a graceful close keeps sending them).
 */
function abandon(socket: Socket): void {
  if (socket.connecting || socket.destroyed) socket.destroy();
  else socket.resetAndDestroy();
}
