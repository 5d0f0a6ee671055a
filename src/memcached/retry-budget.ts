/**
 * One outage's retry budget: how long to wait before the next connect, and when to give the
 * server up. An outage begins at the first failure with batches queued and ends when the server
 * acknowledges a whole batch (or nothing is left to deliver).
 *
 * Why these defaults (CONNECTION_DEFAULTS in connection.ts): a 2 s freeze (GC pause, SIGSTOP,
 * failover) stays under the response timeout and costs nothing; a dropped socket is back within
 * ~100 ms. A server gone for good is given up after 8 attempts with delays 100, 200, 400, 800,
 * 1600, 3000, 3000, 3000 ms × [0.75, 1]: 9–12 s when connects are refused. A frozen or
 * blackholed server costs a timeout per attempt, so giveUpAfterMs caps the outage (from the last
 * sign of life, for a timeout) at ~12–15 s too.
 */
import { ERROR_CODES, ServerGoneError } from '../errors.js';
import { connectFailure } from './connect-failure.js';

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
