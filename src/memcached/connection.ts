/**
 * One socket to one memcached server, with pipelined quiet batches and the `stream.write`
 * contract: `send()` returns false when full and `'drain'` follows.
 *
 *     acked           | in flight                     | pending
 *     (settled, gone) | written, waiting for their MN | queued, not written yet
 *   ... b0 b1 b2      | b3 b4 b5                      | b6 b7 b8 b9      <- send()
 *                       ^ #queue[0]: oldest, charged    ^ #queue[#inFlight]: #pump() writes
 *                         with every reply before         from here, up to maxInFlightBatches
 *                         the next MN                     in flight, one corked burst
 *   MN: #queue[0] moves left (onOutcome).  Socket lost: in flight becomes pending again, as is.
 *
 * - Replies are matched by order only: memcached answers a connection's commands in order, a
 *   quiet `ms` that succeeds says nothing, and `mn` always answers `MN` (protocol.txt, "Meta
 *   No-Op"). So every reply before an `MN` belongs to the oldest in-flight batch. The `O` opaque
 *   would not help: `SERVER_ERROR` lines carry no flags.
 * - We read whenever data arrives, even while our writes are backed up: memcached stops reading
 *   a connection whose replies it cannot send, so a writer that waits to read deadlocks.
 * - One timer per connection, doing one job at a time: connect timeout, then response timeout
 *   (armed while batches are in flight, re-armed by every reply chunk or socket drain), or the
 *   reconnect backoff. Every failure — timeout, socket error, peer close, protocol error —
 *   destroys the socket, and its 'close' handler is the only place that recovers.
 * - Recovery: unacknowledged batches are already at the front of the queue in send order;
 *   they become pending again with their error counts cleared, and are written first on the next
 *   socket. Resending is safe: `ms` is idempotent, and since a server sees one connection's
 *   commands in order, the last writer still wins (at-least-once, never reordered).
 * - One retry budget per outage (attempts and elapsed time); an `MN` acknowledged on a new socket
 *   ends the outage. Out of budget, the server is "gone" for the rest of the run: everything
 *   queued, and everything sent later, settles at once as not delivered, so a run ends.
 *
 * Events: 'connect'; 'disconnect' (err) when an open socket is lost or an outage begins;
 * 'gone' (ServerGoneError); 'drain'. Trace with NODE_DEBUG=memc-load, or subscribe to the
 * diagnostics channels memc-load:connection:{connect,disconnect,gone}.
 */
import { EventEmitter } from 'node:events';
import { channel } from 'node:diagnostics_channel';
import { connect as netConnect, type Socket } from 'node:net';
import { debuglog } from 'node:util';
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
import type { Batch, BatchFailure, BatchOutcome } from './batch.js';
import { dropOversize, findSelf, maxKeyAndValue, parseConnList, stillOpen, type ConnEntry, type ConnIdentity } from './handshake.js';
import { ResponseParser, type Reply } from './response-parser.js';

const debug = debuglog('memc-load');
const connectChannel = channel('memc-load:connection:connect');
const disconnectChannel = channel('memc-load:connection:disconnect');
const goneChannel = channel('memc-load:connection:gone');

export interface ConnectionOptions {
  /** TCP connect must complete within this. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** No reply progress for this long with batches in flight drops the socket. Default 5000. */
  readonly responseTimeoutMs?: number;
  /** Reconnect attempts in one outage before the server is given up. Default 8. */
  readonly retries?: number;
  /** First reconnect delay; doubles per attempt, up to retryMaxDelayMs, jittered. Default 100. */
  readonly retryBaseDelayMs?: number;
  /** Default 3000. */
  readonly retryMaxDelayMs?: number;
  /** An outage lasting this long gives up at its next failure, whatever the attempts. Default 12000. */
  readonly giveUpAfterMs?: number;
  /** send() returns false once queued + in-flight bytes reach this. Default 8 MiB. */
  readonly maxBufferedBytes?: number;
  /** Batches written and not yet acknowledged, at most. Default 16. */
  readonly maxInFlightBatches?: number;
  /** Jitter source in [0, 1); for tests. Default Math.random. */
  readonly random?: () => number;
}

/**
 * Why these: a 2 s freeze (GC pause, SIGSTOP, failover) stays under the response timeout and
 * costs nothing; a dropped socket is back within ~100 ms. A server gone for good is given up
 * after 8 attempts with delays 100, 200, 400, 800, 1600, 3000, 3000, 3000 ms × [0.75, 1]:
 * 9–12 s when connects are refused. A frozen or blackholed server costs a timeout per attempt,
 * so giveUpAfterMs caps the outage (from the last sign of life, for a timeout) at ~12–15 s too.
 */
export const CONNECTION_DEFAULTS = {
  connectTimeoutMs: 2000,
  responseTimeoutMs: 5000,
  retries: 8,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 3000,
  giveUpAfterMs: 12_000,
  /** Dozens of batches per server (the pipeline's chunks split four ways); 4 servers: 32 MiB at most. */
  maxBufferedBytes: 8 * 1024 * 1024,
  /** Far above the bandwidth-delay product of a LAN; bounds the resend after a failure. */
  maxInFlightBatches: 16,
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

/** The socket's first words: what the server stores at most, and who it holds open. */
const HANDSHAKE = Buffer.from('stats settings\r\nstats conns\r\n', 'latin1');
const STATS_CONNS = Buffer.from('stats conns\r\n', 'latin1');
/** Asking again for our own entry when the list did not tell it (several busy connections). */
const SELF_TRIES = 3;
/** The fence asks again after this, doubling up to FENCE_POLL_MAX_MS, until --timeout runs out. */
const FENCE_POLL_MS = 10;
const FENCE_POLL_MAX_MS = 200;

interface Handshake {
  /** `stats` groups asked for and not yet ended, in order. */
  readonly pending: ('settings' | 'conns')[];
  stats: [string, string][];
  tries: number;
  pollMs: number;
  /** The fence gives up at this time (performance.now()). */
  readonly deadline: number;
}

export type OutcomeCallback = (outcome: BatchOutcome) => void;

interface Entry {
  readonly batch: Batch;
  /** What goes on the wire: the batch without records over the server's item size. */
  wire: Uint8Array;
  /** The item limit `wire` was cut for; -1 before the first cut. */
  cutFor: number;
  /** Records taken out of `wire` because memcached would refuse them (and unlink the key). */
  dropped: number;
  tooLarge: number;
  failed: number;
  failures: BatchFailure[] | null;
  /** Error replies by reason line; null until the first (failures are rare). */
  reasons: Map<string, number> | null;
}

/** Failure texts kept per batch; counts stay exact. */
const MAX_FAILURES = 10;
const NO_FAILURES: readonly BatchFailure[] = Object.freeze([]);
const NO_REASONS: Readonly<Record<string, number>> = Object.freeze({});
/**
 * A load connection only ever expects status lines and MN; a VA block would be a protocol error
 * anyway, so never allocate more than this for one (the parser's default allows 1 GiB).
 */
const MAX_VALUE_BYTES = 1024;
const TOO_LARGE = /too large/i;

export class MemcachedConnection extends EventEmitter {
  readonly #address: ServerAddress;
  readonly #onOutcome: OutcomeCallback;
  readonly #o: Required<ConnectionOptions>;
  readonly #parser: ResponseParser;
  #socket: Socket | null = null;
  #phase: Phase = 'idle';
  #closing = false;
  #closeWaiters: (() => void)[] = [];
  #queue: Entry[] = [];
  #inFlight = 0;
  #bufferedBytes = 0;
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
  /** Bytes of batches queued or in flight (not yet settled). */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }
  get inFlightBatches(): number {
    return this.#inFlight;
  }
  get pendingBatches(): number {
    return this.#queue.length - this.#inFlight;
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
    this.#queue.push({ batch, wire: buf, cutFor: -1, dropped: 0, tooLarge: 0, failed: 0, failures: null, reasons: null });
    this.#bufferedBytes += batch.buf.byteLength;
    if (this.#terminal !== null) this.#scheduleSettle();
    else if (this.#phase === 'idle') this.#connect();
    else if (this.#phase === 'connected') this.#pump();
    if (this.#bufferedBytes < this.#o.maxBufferedBytes) return true;
    this.#needDrain = true;
    return false;
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
    this.#handshake = {
      pending: ['settings', 'conns'],
      stats: [],
      tries: 0,
      pollMs: FENCE_POLL_MS,
      deadline: performance.now() + this.#o.responseTimeoutMs,
    };
    socket.write(HANDSHAKE);
    this.#arm('response', this.#o.responseTimeoutMs);
  }

  readonly #onHandshakeReply = (reply: Reply): void => {
    const h = this.#handshake as Handshake;
    if (reply.kind === 'STAT') {
      h.stats.push([reply.name, reply.value]);
      return;
    }
    if (reply.kind !== 'END' && reply.kind !== 'ERROR' && reply.kind !== 'CLIENT_ERROR' && reply.kind !== 'SERVER_ERROR') {
      throw new ProtocolError(`unexpected ${reply.kind} from ${this.label} in reply to stats`, { server: this.label });
    }
    // A server that does not know a group (not memcached) answers an error: then we know less.
    const known = reply.kind === 'END';
    const group = h.pending.shift();
    const stats = h.stats;
    h.stats = [];
    if (group === 'settings') this.#itemLimit = known ? maxKeyAndValue(new Map(stats)) : null;
    else if (group === 'conns') this.#onConnList(known ? parseConnList(stats) : null);
    else throw new ProtocolError(`unexpected ${reply.kind} from ${this.label} after the handshake`, { server: this.label });
  };

  /** Learns who we are, then holds the socket until no abandoned one of ours is listed. */
  #onConnList(entries: ConnEntry[] | null): void {
    const socket = this.#socket as Socket;
    const h = this.#handshake as Handshake;
    if (this.#self === null && entries !== null) {
      this.#self = findSelf(entries, socket.localAddress ?? '', socket.localPort ?? 0);
      if (this.#self === null && ++h.tries < SELF_TRIES) {
        this.#ask(socket);
        return;
      }
    }
    if (this.#stale.length === 0) {
      this.#ready(socket);
      return;
    }
    if (entries === null || this.#stale.includes(null)) {
      const why = entries === null ? 'it does not answer `stats conns`' : 'it did not list that connection by address (a proxy or NAT in between?)';
      const msg = `cannot confirm that the abandoned connection to ${this.label} is closed: ${why}; its unacknowledged writes could still be applied after a resend`;
      this.#fail(socket, new FenceError(msg, { server: this.label }));
      return;
    }
    const open = stillOpen(entries, this.#stale as ConnIdentity[], this.#self);
    if (open.length === 0) {
      debug('%s fence passed: the abandoned connection is closed on the server', this.label);
      this.#stale = [];
      this.#rebind = null;
      this.#ready(socket);
    } else if (performance.now() >= h.deadline) {
      const o = open[0] as ConnIdentity;
      const msg =
        `memcached ${this.label} still holds the abandoned connection ${o.addr} (fd ${o.fd}) open after ${this.#o.responseTimeoutMs} ms: ` +
        'its unacknowledged writes could still be applied after a resend, so nothing is resent';
      this.#fail(socket, new FenceError(msg, { server: this.label }));
    } else {
      this.#arm('fence', h.pollMs);
      h.pollMs = Math.min(h.pollMs * 2, FENCE_POLL_MAX_MS);
    }
  }

  #ask(socket: Socket): void {
    (this.#handshake as Handshake).pending.push('conns');
    socket.write(STATS_CONNS);
    this.#arm('response', this.#o.responseTimeoutMs);
  }

  #ready(socket: Socket): void {
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
    const limit = Math.min(this.#queue.length, this.#o.maxInFlightBatches);
    if (this.#inFlight >= limit) return;
    const wasIdle = this.#inFlight === 0;
    const many = limit - this.#inFlight > 1;
    if (many) socket.cork(); // one writev for the burst instead of a syscall per batch
    while (this.#inFlight < limit) socket.write(this.#wire(this.#queue[this.#inFlight++] as Entry));
    if (many) socket.uncork();
    if (wasIdle) {
      this.#lastWritableLength = socket.writableLength;
      this.#arm('response', this.#o.responseTimeoutMs);
    }
  }

  /** The batch as it may be sent to this server: records it would refuse (and unlink) are taken out. */
  #wire(entry: Entry): Uint8Array {
    const limit = this.#itemLimit;
    if (limit === null || entry.cutFor === limit) return entry.wire;
    const { buf, dropped } = dropOversize(entry.batch.buf, limit);
    entry.wire = buf;
    entry.dropped = dropped;
    entry.cutFor = limit;
    return buf;
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
    if (this.#inFlight > 0) this.#arm('response', this.#o.responseTimeoutMs); // progress
    else this.#clearTimer();
    this.#pump();
  }

  readonly #onReply = (reply: Reply): void => {
    if (this.#phase === 'handshake') {
      this.#onHandshakeReply(reply);
      return;
    }
    if (this.#phase !== 'connected') return; // destroyed or closed by a callback mid-chunk
    if (this.#inFlight === 0) {
      throw new ProtocolError(`unexpected ${reply.kind} from ${this.label} with no batch in flight`, { server: this.label });
    }
    const entry = this.#queue[0];
    switch (reply.kind) {
      case 'MN':
        this.#ack(entry);
        return;
      case 'HD': // a set sent without `q`: stored
        return;
      case 'SERVER_ERROR':
        // memcached swallows the value and answers this; retrying cannot help (SPEC: too_large).
        if (TOO_LARGE.test(reply.message)) entry.tooLarge++;
        else charge(entry, reply.kind, reply.message);
        return;
      case 'CLIENT_ERROR':
      case 'ERROR':
        charge(entry, reply.kind, reply.message);
        return;
      case 'NS':
      case 'EX':
      case 'NF':
      case 'EN':
        charge(entry, reply.kind, reply.flags.join(' '));
        return;
      default:
        throw new ProtocolError(`unexpected ${reply.kind} from ${this.label} in reply to sets`, { server: this.label });
    }
  };

  #ack(entry: Entry): void {
    this.#queue.shift();
    this.#inFlight--;
    this.#bufferedBytes -= entry.batch.buf.byteLength;
    this.#attempts = 0; // the server took a whole batch: any outage is over
    const { records } = entry.batch;
    const tooLarge = Math.min(entry.dropped + entry.tooLarge, records);
    // CLIENT_ERROR on a bad key is followed by ERROR for its value line: two replies, one record.
    const failed = Math.min(entry.failed, records - tooLarge);
    this.#onOutcome({
      batch: entry.batch,
      delivered: true,
      tooLarge,
      failed,
      failures: entry.failures ?? NO_FAILURES,
      failedByReason: entry.reasons === null ? NO_REASONS : capReasons(entry.reasons, failed),
    });
    this.#maybeDrain();
    this.#maybeFinishClose();
  }

  #onSocketDrain(socket: Socket): void {
    if (socket !== this.#socket) return;
    if (this.#inFlight > 0) this.#arm('response', this.#o.responseTimeoutMs); // our bytes moved
    this.#pump();
  }

  /** Every failure comes here: the socket is reset and its 'close' does the rest. */
  #fail(socket: Socket, err: Error): void {
    this.#failure ??= err;
    if (socket.connecting) {
      socket.destroy(err);
      return;
    }
    if (this.#phase === 'connected' && this.#inFlight > 0 && socket.localAddress !== undefined && socket.localPort !== undefined) {
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
    const inFlight = this.#inFlight;
    this.#handshake = null;
    // Its writes may still be applied by the server: the next socket waits until it is gone.
    if (wasConnected && inFlight > 0) this.#stale.push(this.#self);
    // Unacknowledged batches are the queue's head, in send order: they become pending again.
    for (let i = 0; i < inFlight; i++) {
      const e = this.#queue[i];
      e.tooLarge = 0;
      e.failed = 0;
      e.failures = null;
      e.reasons = null;
    }
    this.#inFlight = 0;
    this.#phase = 'idle';
    if (wasConnected || this.#attempts === 0) {
      debug('%s disconnected (%d in flight, %d pending): %s', this.label, inFlight, this.#queue.length - inFlight, err.message);
      if (disconnectChannel.hasSubscribers) {
        disconnectChannel.publish({ server: this.label, error: err, inFlight, pending: this.#queue.length - inFlight });
      }
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
    const error = new ServerGoneError(
      `gave up on memcached ${this.label} after ${this.#attempts} failed attempt(s) over ${secs} s: ${why}`,
      { server: this.label, cause },
    );
    this.#phase = 'gone';
    this.#terminal = error;
    debug('%s gone: %s', this.label, error.message);
    if (goneChannel.hasSubscribers) goneChannel.publish({ server: this.label, error });
    this.emit('gone', error);
    this.#failAll(error);
  }

  /** Settles every queued batch as not delivered, in order. */
  #failAll(error: Error): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#inFlight = 0;
    this.#bufferedBytes = 0;
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : 'not delivered';
    for (const { batch } of queue) {
      const failedByReason = batch.records > 0 ? { [reason]: batch.records } : NO_REASONS;
      this.#onOutcome({ batch, delivered: false, tooLarge: 0, failed: batch.records, failures: NO_FAILURES, failedByReason, error });
    }
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
    if (this.#needDrain && this.#bufferedBytes < this.#o.maxBufferedBytes) {
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
    } else if (job === 'response' && socket !== null && this.#phase === 'connected' && this.#inFlight > 0) {
      // Held while our own writes are backed up and still moving: the server is reading, and
      // the replies we wait for are behind the bytes we have not managed to send yet.
      if (socket.writableNeedDrain && socket.writableLength !== this.#lastWritableLength) {
        this.#lastWritableLength = socket.writableLength;
        this.#arm('response', this.#o.responseTimeoutMs);
        return;
      }
      const ms = this.#o.responseTimeoutMs;
      const msg = `no reply from ${this.label} for ${ms} ms with ${this.#inFlight} batch(es) in flight`;
      this.#fail(socket, new ResponseTimeoutError(msg, { server: this.label }));
    }
  };

  #wrap(err: Error): Error {
    if (err instanceof MemcLoadError) return err;
    return new SocketError(`${this.label}: ${err.message}`, { server: this.label, cause: err });
  }
}

function charge(entry: Entry, kind: string, message: string): void {
  entry.failed++;
  entry.failures ??= [];
  if (entry.failures.length < MAX_FAILURES) entry.failures.push({ kind, message });
  entry.reasons ??= new Map();
  const reason = message === '' ? kind : `${kind} ${message}`;
  entry.reasons.set(reason, (entry.reasons.get(reason) ?? 0) + 1);
}

/**
 * Reason counts summing to `failed`: a bad key draws two replies for one record (CLIENT_ERROR,
 * then ERROR for its value line), so the first reasons keep their counts and the excess is cut.
 */
function capReasons(reasons: Map<string, number>, failed: number): Record<string, number> {
  const out: Record<string, number> = {};
  let left = failed;
  for (const [reason, n] of reasons) {
    const take = Math.min(n, left);
    if (take > 0) out[reason] = take;
    left -= take;
  }
  return out;
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
