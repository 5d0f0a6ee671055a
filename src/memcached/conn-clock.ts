/**
 * A connection's time (issue #18, item 10): its one timer, what an expiry means, and one outage's
 * retry budget (the backoff's delays, when to give the server up). connection.ts says what
 * happened (connecting, writing, progress, a socket lost with batches queued); ConnClock arms the
 * timer for it and hands back only what the connection must do: connect again, ask the fence
 * again, or fail the socket with the timeout that ran out.
 *
 * The timer (STYLE.md "Timeouts": one timer per connection, not one per request) does one job at
 * a time: the connect timeout, the response timeout, the fence's next poll, or the reconnect
 * backoff. Re-arming the same job for the same time refreshes the timer in place: the response
 * timeout is re-armed by every reply chunk, and a new Timeout each time would cost an allocation
 * and a heap insert per chunk.
 *
 * The budget: an outage begins at the first failure with batches queued and ends when the server
 * acknowledges a whole batch (or nothing is left to deliver).
 *
 * Why these defaults (CONNECTION_DEFAULTS in connection.ts): a 2 s freeze (GC pause, SIGSTOP,
 * failover) stays under the response timeout and costs nothing; a dropped socket is back within
 * ~100 ms. A server gone for good is given up after 8 attempts with delays 100, 200, 400, 800,
 * 1600, 3000, 3000, 3000 ms × [0.75, 1]: 9–12 s when connects are refused. A frozen or
 * blackholed server costs a timeout per attempt, so giveUpAfterMs caps the outage (from the last
 * sign of life, for a timeout) at ~12–15 s too.
 */
import type { Socket } from 'node:net';
import { ConnectTimeoutError, ERROR_CODES, ResponseTimeoutError, ServerGoneError } from '../errors.js';
import { connectFailure } from './connect-failure.js';
import { trace } from './conn-socket.js';

/** What the connection must do when a job expires; the clock re-arms a held response timeout itself. */
export type ClockAction = { readonly kind: 'connect' } | { readonly kind: 'ask' } | { readonly kind: 'fail'; readonly error: Error };

/** The connection as its clock sees it when a job expires. */
export interface ClockView {
  readonly phase: string;
  readonly socket: Socket | null;
  readonly inFlight: number;
}

/** The timer and the retry budget of one connection, behind the events that move them. */
export class ConnClock {
  readonly #o: RetrySettings;
  readonly #label: string;
  readonly #timer: ConnTimer;
  readonly #budget: RetryBudget;
  /** Our writes backed up when the response timer was last armed or held (`expiry`). */
  readonly #held = { writableLength: 0 };

  /** `view`: the connection now; `act`: what an expiry asks of it. */
  constructor(label: string, settings: RetrySettings, view: () => ClockView, act: (a: ClockAction) => void) {
    this.#o = settings;
    this.#label = label;
    this.#budget = new RetryBudget(label, settings);
    this.#timer = new ConnTimer((job) => {
      const next = expiry(job, { ...settings, ...view(), label }, this.#held);
      if (next === null) return;
      if (next.kind === 'rearm') this.#timer.arm('response', settings.responseTimeoutMs);
      else act(next);
    });
  }

  /** Failed attempts in the current outage; 0 outside one. */
  get attempts(): number {
    return this.#budget.attempts;
  }

  /** For the socket's opening (socket-opening.ts): its handshake's reply wait, the fence's poll. */
  arm(job: 'response' | 'fence', ms: number): void {
    this.#timer.arm(job, ms);
  }

  connecting(): void {
    this.#timer.arm('connect', this.#o.connectTimeoutMs);
  }

  /** A burst of writes went out with nothing in flight before: replies are now awaited. */
  writing(socket: Socket): void {
    this.#held.writableLength = socket.writableLength;
    this.#timer.arm('response', this.#o.responseTimeoutMs);
  }

  /** Replies came, or our bytes moved: the response timeout starts again. */
  progress(): void {
    this.#timer.arm('response', this.#o.responseTimeoutMs);
  }

  /** Nothing to wait for (connected and idle, the socket gone, closing). */
  stop(): void {
    this.#timer.clear();
  }

  /** The server took a whole batch, or nothing was left to deliver: any outage is over. */
  outageOver(): void {
    this.#budget.reset();
  }

  /** A socket failed with batches queued: the backoff is armed (retry), or the server is given up. */
  failed(err: Error, everConnected: boolean): RetryStep {
    const step = this.#budget.failed(err, everConnected);
    if (step.kind === 'retry') {
      trace.backoff(this.#label, step.delayMs, step.attempts, this.#o.retries);
      this.#timer.arm('backoff', step.delayMs);
    }
    return step;
  }
}

export type TimerJob = 'connect' | 'response' | 'backoff' | 'fence';

/** A timer that fires later than this past its time says this process was stalled, not idle. */
export const OWN_STALL_MS = 50;

/**
 * How long this process was stalled past `due` (performance.now() time), 0 for the lateness of
 * an ordinary timer. A timeout that expired while we could not look is not the server's silence.
 */
export function ownStallMs(due: number, now = performance.now()): number {
  const late = now - due;
  return late > OWN_STALL_MS ? late : 0;
}

export class ConnTimer {
  readonly #onFire: (job: TimerJob) => void;
  #timer: NodeJS.Timeout | null = null;
  #job: TimerJob | null = null;
  #ms = 0;
  /** When the armed job is due (performance.now() time). */
  #due = 0;
  /** The armed timer gives back a stall of ours (`#fire`): a refresh must not shorten it to that. */
  #givingBack = false;
  /** Bumped by every arm and clear: a judgement deferred past them is stale (`#fire`). */
  #generation = 0;

  /** `onFire` gets the job that was due; the timer is already disarmed when it runs. */
  constructor(onFire: (job: TimerJob) => void) {
    this.#onFire = onFire;
  }

  /** The job armed now, if any. */
  get job(): TimerJob | null {
    return this.#job;
  }

  arm(job: TimerJob, ms: number): void {
    if (this.#timer !== null && this.#job === job && this.#ms === ms && !this.#givingBack) {
      this.#timer.refresh();
      this.#due = performance.now() + ms;
      return;
    }
    this.clear();
    this.#job = job;
    this.#ms = ms;
    this.#due = performance.now() + ms;
    this.#givingBack = false;
    this.#timer = setTimeout(this.#fire, ms);
  }

  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#job = null;
    this.#generation++;
  }

  /**
   * A timeout is the server's silence while we were looking. When this process was stalled (a long
   * synchronous stretch, a loaded machine) the timer fires late, with the connect or the reply that
   * came in time possibly still unread, or our request not even sent: the stall past the due time
   * is given back (up to the whole timeout) before judging. Otherwise it is judged one turn later,
   * after the loop's poll phase (timers run before I/O in each turn): a reply read there re-arms
   * the timer. Backoff and fence polls only wait, and are never late to anyone's cost.
   */
  readonly #fire = (): void => {
    const job = this.#job as TimerJob;
    const stalled = job === 'connect' || job === 'response' ? ownStallMs(this.#due) : 0;
    if (stalled > 0) {
      const giveBack = Math.min(stalled, this.#ms);
      this.#due = performance.now() + giveBack;
      this.#givingBack = true;
      this.#timer = setTimeout(this.#fire, giveBack);
      return;
    }
    const generation = this.#generation;
    this.#timer = null;
    this.#job = null;
    setImmediate(() => {
      if (generation === this.#generation) this.#onFire(job);
    });
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

export interface RetrySettings {
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly retries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly giveUpAfterMs: number;
  readonly random: () => number;
  readonly unreachableHint: string;
}

/** After a failure: connect again in `delayMs` (attempt `attempts` of the budget), or give up. */
export type RetryStep =
  | { readonly kind: 'retry'; readonly delayMs: number; readonly attempts: number }
  | { readonly kind: 'give-up'; readonly error: InstanceType<typeof ServerGoneError> };

export class RetryBudget {
  readonly #label: string;
  readonly #o: RetrySettings;
  #attempts = 0;
  #outageStart = 0;

  constructor(label: string, settings: RetrySettings) {
    this.#label = label;
    this.#o = settings;
  }

  /** Failed attempts in the current outage; 0 outside one. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The server took a whole batch, or nothing was left to deliver: any outage is over. */
  reset(): void {
    this.#attempts = 0;
  }

  /**
   * A socket failed with batches still queued. `everConnected`: the server has answered a
   * handshake on some socket before, so a give-up is an outage and not an address that never
   * worked.
   */
  failed(err: Error, everConnected: boolean, now = performance.now()): RetryStep {
    if (this.#attempts === 0) this.#outageStart = now - this.#silentFor(err);
    this.#attempts++;
    if (this.#attempts > this.#o.retries || now - this.#outageStart >= this.#o.giveUpAfterMs) {
      return { kind: 'give-up', error: this.#goneError(err, everConnected, now) };
    }
    return { kind: 'retry', delayMs: backoffDelay(this.#attempts, this.#o), attempts: this.#attempts };
  }

  /** How long the server had already been silent when this failure was detected. */
  #silentFor(err: Error): number {
    const code = (err as { code?: unknown }).code;
    if (code === ERROR_CODES.RESPONSE_TIMEOUT) return this.#o.responseTimeoutMs;
    if (code === ERROR_CODES.CONNECT_TIMEOUT) return this.#o.connectTimeoutMs;
    return 0;
  }

  #goneError(cause: Error, everConnected: boolean, now: number): InstanceType<typeof ServerGoneError> {
    const label = this.#label;
    const secs = ((now - this.#outageStart) / 1000).toFixed(1);
    const why = cause.message.startsWith(`${label}: `) ? cause.message.slice(label.length + 2) : cause.message;
    // A server never reached at all is most likely not running there, or a wrong address: say so.
    const unreachable = everConnected ? null : connectFailure(cause);
    const message =
      unreachable === null
        ? `gave up on memcached ${label} after ${this.#attempts} failed attempt(s) over ${secs} s: ${why}`
        : `could not connect to memcached ${label} after ${this.#attempts} attempt(s) over ${secs} s (${unreachable}): ${hintFor(unreachable, this.#o.unreachableHint)}`;
    return new ServerGoneError(message, { server: label, cause });
  }
}

/** A name that does not resolve is not a server that is down: asking whether it runs there misleads. */
function hintFor(unreachable: string, hint: string): string {
  if (unreachable !== 'ENOTFOUND' && unreachable !== 'EAI_AGAIN' && unreachable !== 'EAI_NONAME') return hint;
  const check = hint.replace(/^is memcached running there\?\s*/, '');
  return `the host name does not resolve (DNS)${check === '' ? '' : `; ${check.charAt(0).toLowerCase()}${check.slice(1)}`}`;
}

/** Capped exponential backoff; jitter in [75%, 100%] spreads reconnects of many loaders. */
export function backoffDelay(attempt: number, o: Pick<RetrySettings, 'retryBaseDelayMs' | 'retryMaxDelayMs' | 'random'>): number {
  const cap = Math.min(o.retryMaxDelayMs, o.retryBaseDelayMs * 2 ** (attempt - 1));
  return Math.round(cap * (0.75 + 0.25 * o.random()));
}
