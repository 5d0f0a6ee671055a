/**
 * A connection's one timer (STYLE.md "Timeouts": one timer per connection, not one per request),
 * doing one job at a time: the connect timeout, the response timeout, the fence's next poll, or
 * the reconnect backoff. Re-arming the same job for the same time refreshes the timer in place:
 * the response timeout is re-armed by every reply chunk, and a new Timeout each time would cost
 * an allocation and a heap insert per chunk.
 */
import type { Socket } from 'node:net';
import { ConnectTimeoutError, ResponseTimeoutError } from '../errors.js';

export type TimerJob = 'connect' | 'response' | 'backoff' | 'fence';

export class ConnTimer {
  readonly #onFire: (job: TimerJob) => void;
  #timer: NodeJS.Timeout | null = null;
  #job: TimerJob | null = null;
  #ms = 0;

  /** `onFire` gets the job that was due; the timer is already disarmed when it runs. */
  constructor(onFire: (job: TimerJob) => void) {
    this.#onFire = onFire;
  }

  /** The job armed now, if any. */
  get job(): TimerJob | null {
    return this.#job;
  }

  arm(job: TimerJob, ms: number): void {
    if (this.#timer !== null && this.#job === job && this.#ms === ms) {
      this.#timer.refresh();
      return;
    }
    this.clear();
    this.#job = job;
    this.#ms = ms;
    this.#timer = setTimeout(this.#fire, ms);
  }

  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#job = null;
  }

  readonly #fire = (): void => {
    const job = this.#job as TimerJob;
    this.#timer = null;
    this.#job = null;
    this.#onFire(job);
  };
}

/** What an expired job means for the connection, as far as it can be told without the queue. */
export type Expiry =
  | { readonly kind: 'connect' }
  | { readonly kind: 'ask' }
  | { readonly kind: 'rearm' }
  | { readonly kind: 'fail'; readonly error: Error }
  | null;

/** The connection as its timer sees it when a job expires. */
export interface ExpiryView {
  readonly label: string;
  readonly phase: string;
  readonly socket: Socket | null;
  readonly inFlight: number;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
}

/**
 * What an expired job means: connect again after the backoff, ask `stats conns` again for the
 * fence, re-arm, or fail the socket with the timeout that ran out. `held` remembers how much of our
 * own writing was backed up the last time: the response timeout is held while our writes are
 * backed up and still moving (the server is reading, and the replies we wait for are behind
 * the bytes we have not managed to send yet), as undici does.
 */
export function expiry(job: TimerJob, v: ExpiryView, held: { writableLength: number }): Expiry {
  const { socket, label } = v;
  if (job === 'backoff') return v.phase === 'backoff' ? CONNECT : null;
  if (socket === null) return null;
  if (job === 'fence') return v.phase === 'handshake' ? ASK : null;
  if (job === 'connect') {
    if (v.phase !== 'connecting') return null;
    return { kind: 'fail', error: new ConnectTimeoutError(`could not connect to ${label} within ${v.connectTimeoutMs} ms`, { server: label }) };
  }
  const ms = v.responseTimeoutMs;
  if (v.phase === 'handshake') {
    return { kind: 'fail', error: new ResponseTimeoutError(`no reply from ${label} for ${ms} ms to stats (the connection's handshake)`, { server: label }) };
  }
  if (v.phase !== 'connected' || v.inFlight === 0) return null;
  if (socket.writableNeedDrain && socket.writableLength !== held.writableLength) {
    held.writableLength = socket.writableLength;
    return REARM;
  }
  const msg = `no reply from ${label} for ${ms} ms with ${v.inFlight} batch(es) in flight`;
  return { kind: 'fail', error: new ResponseTimeoutError(msg, { server: label }) };
}

const CONNECT: Expiry = Object.freeze({ kind: 'connect' });
const ASK: Expiry = Object.freeze({ kind: 'ask' });
const REARM: Expiry = Object.freeze({ kind: 'rearm' });
