/**
 * What a MemcachedConnection can be told, and its defaults (why these: conn-clock.ts).
 */
import { DEFAULTS } from '../config/defaults.js';
import type { ConnIdentity } from './handshake.js';

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
  /**
   * Asked before each write of batches to a socket (resends too): an error means no more writes
   * ever; the socket is reset (RST: the kernel sends nothing more of it) and the connection is
   * destroyed with the error as cause. Default none.
   */
  readonly writeGate?: (() => Error | null) | null;
  /**
   * Other clients' connections (an earlier holder of this node, for the cluster) to fence before
   * this connection's first set, as if it had abandoned them itself. Default none.
   */
  readonly fenceFirst?: readonly (ConnIdentity | null)[];
  /**
   * Awaited once a socket has passed its handshake and fence, before its first set, with the
   * socket as the server lists it (null when the server did not say). A rejection fails the
   * socket. Default none.
   */
  readonly beforeWrites?: ((self: ConnIdentity | null) => Promise<void>) | null;
  /**
   * Set: a socket's opening first asks a plain `stats` and awaits this with its reply (null when
   * the server answered an error) before its handshake; the connections it resolves to are
   * fenced as `fenceFirst` is. Asked on each new socket until one call has resolved (again for
   * each job handed to the open socket, `nextJob`). A rejection fails the socket. Default none.
   */
  readonly onStats?: ((stats: Readonly<Record<string, string>> | null) => Promise<readonly (ConnIdentity | null)[]>) | null;
}

/** What belongs to one job of a connection kept across jobs (MemcachedConnection.nextJob). */
export type JobHooks = Pick<ConnectionOptions, 'writeGate' | 'beforeWrites' | 'onStats'>;

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
  writeGate: null,
  fenceFirst: [],
  beforeWrites: null,
  onStats: null,
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

/**
 * A load connection only ever expects status lines and MN; a VA block would be a protocol error
 * anyway, so never allocate more than this for one (the parser's default allows 1 GiB).
 */
export const MAX_REPLY_VALUE_BYTES = 1024;

export type ResolvedOptions = Required<ConnectionOptions>;

export function resolveOptions(options: ConnectionOptions): ResolvedOptions {
  return { ...CONNECTION_DEFAULTS, random: Math.random, ...stripUndefined(options) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
