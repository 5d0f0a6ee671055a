/**
 * The connection's clock (conn-clock.ts): its retry budget and its one timer's expiries, apart
 * from any socket: backoff doubling with jitter up to its cap, give-up by attempts or by
 * the outage's age (counted from the last sign of life for a timeout), the give-up's wording.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { ConnectTimeoutError, ResponseTimeoutError, SocketError } from '../../../src/errors.js';
import { backoffDelay, ConnClock, ConnTimer, expiry, RetryBudget, type ClockAction, type RetrySettings, type TimerJob } from '../../../src/memcached/conn-clock.js';
import { stall } from '../../helpers/stall-probe.js';

/**
 * Resolves once `done()` holds: these tests wait for what the timer does, not for a time, since
 * on a loaded machine a timer fires late by any amount. The cap only ends a test that would hang.
 */
async function until(done: () => boolean, what: string, capMs = 10_000): Promise<void> {
  const end = performance.now() + capMs;
  while (!done()) {
    if (performance.now() > end) assert.fail(`still waiting after ${capMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Resolves after a timer armed now for `ms` has fired: a job armed before for no longer has had its turn. */
const afterTimer = (ms: number) => new Promise((r) => setTimeout(r, ms));

const S: RetrySettings = {
  connectTimeoutMs: 2000,
  responseTimeoutMs: 5000,
  retries: 8,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 3000,
  giveUpAfterMs: 12_000,
  random: () => 1 - Number.EPSILON,
  unreachableHint: 'is memcached running there?',
};
const refused = () => new SocketError('h:1: connect ECONNREFUSED', { server: 'h:1', cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED', syscall: 'connect' }) });

describe('RetryBudget', () => {
  it('backs off 100, 200, 400 … up to 3000 ms, jittered within [75 %, 100 %]', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, S)), [100, 200, 400, 800, 1600, 3000, 3000, 3000]);
    assert.deepEqual([1, 6].map((a) => backoffDelay(a, { ...S, random: () => 0 })), [75, 2250]);
  });

  it('gives up after --retries attempts, with the attempts and the time in the message', () => {
    const b = new RetryBudget('h:1', S);
    for (let i = 1; i <= 8; i++) {
      const step = b.failed(refused(), true, 1000 * i);
      assert.equal(step.kind, 'retry', `attempt ${i}`);
    }
    const last = b.failed(refused(), true, 9000);
    assert.equal(last.kind, 'give-up');
    if (last.kind !== 'give-up') return;
    assert.equal(last.error.code, 'MCL_ERR_SERVER_GONE');
    assert.match(last.error.message, /^gave up on memcached h:1 after 9 failed attempt\(s\) over 8\.0 s: connect ECONNREFUSED$/);
  });

  it('gives up once the outage is giveUpAfterMs old, counting a timeout from the last sign of life', () => {
    const b = new RetryBudget('h:1', S);
    const timeout = new ResponseTimeoutError('no reply', { server: 'h:1' });
    assert.equal(b.failed(timeout, true, 100_000).kind, 'retry');
    // The outage began responseTimeoutMs (5 s) before the first failure: 12 s are up 7 s later.
    assert.equal(b.failed(timeout, true, 106_900).kind, 'retry');
    assert.equal(b.failed(timeout, true, 107_000).kind, 'give-up');
  });

  it('a server never reached is named as such, with the hint; reset() starts a fresh budget', () => {
    const b = new RetryBudget('h:1', { ...S, retries: 0 });
    const step = b.failed(refused(), false, 0);
    assert.equal(step.kind, 'give-up');
    if (step.kind === 'give-up') assert.match(step.error.message, /^could not connect to memcached h:1 after 1 attempt\(s\) over 0\.0 s \(ECONNREFUSED\): is memcached running there\?$/);
    b.reset();
    assert.equal(b.attempts, 0);
  });
});

describe('ConnTimer and expiry', () => {
  it('one job at a time: arming another replaces it; the same job and time refresh it', async () => {
    const fired: TimerJob[] = [];
    const t = new ConnTimer((job) => fired.push(job));
    t.arm('connect', 30);
    t.arm('response', 10);
    assert.equal(t.job, 'response');
    await Promise.all([afterTimer(30), until(() => fired.length > 0, 'the response job')]);
    assert.deepEqual(fired, ['response'], 'the replaced job never fires');
    assert.equal(t.job, null);
    t.arm('backoff', 10);
    t.clear();
    await afterTimer(10);
    await new Promise((r) => setImmediate(r)); // where a judgement deferred by ConnTimer would run
    assert.deepEqual(fired, ['response']);
  });

  it('gives a stall of this process back before judging a connect or a response timeout, once refreshed the full time', async () => {
    const fired: [TimerJob, number][] = [];
    const t = new ConnTimer((job) => fired.push([job, performance.now()]));
    t.arm('response', 40);
    const resumed = stall(300); // fires 260 ms late: we were not looking, the server was not silent
    await until(() => fired.length > 0, 'the response job');
    assert.equal(fired.length, 1);
    const [job, at] = fired[0] as [TimerJob, number];
    assert.equal(job, 'response');
    // Node rounds timers to whole milliseconds: 1 ms early at most.
    assert.ok(at - resumed >= 39, `judged ${(at - resumed).toFixed(1)} ms after the stall, not 40`);
    t.arm('connect', 40);
    stall(300);
    t.arm('connect', 40); // progress during the give-back: a new full timeout, not the give-back refreshed
    const rearmed = performance.now();
    await until(() => fired.length > 1, 'the connect job');
    assert.equal(fired.length, 2);
    assert.ok((fired[1]?.[1] ?? 0) - rearmed >= 39);
  });

  const view = (phase: string, socket: Partial<Socket> | null, inFlight = 1) => ({
    label: 'h:1',
    phase,
    socket: socket as Socket | null,
    inFlight,
    connectTimeoutMs: 2000,
    responseTimeoutMs: 5000,
  });
  const idle = { writableNeedDrain: false, writableLength: 0 };

  it('tells what each expiry means in each phase', () => {
    const held = { writableLength: 0 };
    assert.deepEqual(expiry('backoff', view('backoff', null), held), { kind: 'connect' });
    assert.equal(expiry('backoff', view('destroyed', null), held), null);
    assert.deepEqual(expiry('fence', view('handshake', idle), held), { kind: 'ask' });
    const c = expiry('connect', view('connecting', idle), held);
    assert.ok(c?.kind === 'fail' && c.error instanceof ConnectTimeoutError && /within 2000 ms/.test(c.error.message));
    const h = expiry('response', view('handshake', idle), held);
    assert.ok(h?.kind === 'fail' && /to stats \(the connection's handshake\)/.test(h.error.message));
    const r = expiry('response', view('connected', idle, 3), held);
    assert.ok(r?.kind === 'fail' && /for 5000 ms with 3 batch\(es\) in flight/.test(r.error.message));
    assert.equal(expiry('response', view('connected', idle, 0), held), null, 'nothing in flight: nothing to time out');
  });

  it('holds the response timeout while our own writes are backed up and moving, not when they are stuck', () => {
    const held = { writableLength: 100 };
    assert.deepEqual(expiry('response', view('connected', { writableNeedDrain: true, writableLength: 50 }), held), { kind: 'rearm' });
    assert.equal(held.writableLength, 50);
    assert.equal(expiry('response', view('connected', { writableNeedDrain: true, writableLength: 50 }), held)?.kind, 'fail');
  });
});

describe('ConnClock', () => {
  const fast: RetrySettings = { ...S, connectTimeoutMs: 20, responseTimeoutMs: 20, retryBaseDelayMs: 10, retryMaxDelayMs: 10 };

  it('hands the connection only what it must do: a held response timeout is re-armed inside, a stuck one fails', async () => {
    const acts: ClockAction[] = [];
    const socket = { writableNeedDrain: true, writableLength: 100 } as Socket;
    let expiries = 0;
    const view = () => (expiries++, { phase: 'connected', socket, inFlight: 1 });
    const clock = new ConnClock('h:1', fast, view, (a) => acts.push(a));
    clock.writing(socket);
    (socket as { writableLength: number }).writableLength = 40; // our bytes moved: held, not failed
    await until(() => acts.length > 0, 'an action');
    assert.equal(expiries, 2, 'the first expiry was held, the second failed');
    assert.equal(acts.length, 1);
    assert.ok(acts[0]?.kind === 'fail' && acts[0].error instanceof ResponseTimeoutError);
  });

  it('a failure with batches queued arms the backoff, whose expiry asks to connect; outageOver starts a fresh budget', async () => {
    const acts: ClockAction[] = [];
    const clock = new ConnClock('h:1', fast, () => ({ phase: 'backoff', socket: null, inFlight: 0 }), (a) => acts.push(a));
    const step = clock.failed(refused(), true);
    assert.deepEqual(step, { kind: 'retry', delayMs: 10, attempts: 1 });
    assert.equal(clock.attempts, 1);
    await until(() => acts.length > 0, 'the backoff');
    assert.deepEqual(acts, [{ kind: 'connect' }]);
    clock.outageOver();
    assert.equal(clock.attempts, 0);
    clock.connecting();
    clock.stop();
    await afterTimer(fast.connectTimeoutMs);
    await new Promise((r) => setImmediate(r));
    assert.equal(acts.length, 1, 'a stopped clock fires nothing');
  });
});
