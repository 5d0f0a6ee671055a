/**
 * What `enqueue --wait` blocks on (queue/plan-events.ts, issue #19 item 4), on a real Redis with
 * real BullMQ jobs: a job that ends on a plan's queue wakes the wait, one that ended before the
 * first wait included; and a Redis restarted while the XREAD is blocked does not lose the wait.
 * Each wait blocks far longer than the test needs, so an event not seen fails the assertion
 * (the wait comes back empty) rather than passing on a timer.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { applyQueue, PREFIX, SPLIT_QUEUE } from '../../../src/queue/names.js';
import { PlanEvents, type Woken } from '../../../src/queue/plan-events.js';
import { connectRedis } from '../../../src/queue/redis.js';
import { redisMissing, startRedis, stopAllRedis, type RedisHandle } from '../../helpers/redis.js';

const skip = redisMissing();
after(stopAllRedis);

const LANE = '127.0.0.1:11211';

/** One job added to `queue` and run to completion by a worker of its own, closed after. */
async function runJob(redis: RedisHandle, queue: string): Promise<void> {
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const q = new Queue(queue, { connection, prefix: PREFIX });
  const done = new Promise<void>((resolve) => {
    const w = new Worker(queue, async () => 'ok', { connection, prefix: PREFIX });
    w.on('completed', () => void w.close().then(resolve));
  });
  await q.add('j', {});
  await done;
  await q.close();
}

/**
 * Waits on `events` until a job end wakes it (a job's `added` and `active` wake it first), for
 * up to 20 s in all: a job end never seen fails as `{ ended: false }`.
 */
async function untilEnded(events: PlanEvents, first: Promise<Woken>): Promise<Woken> {
  const deadline = performance.now() + 20_000;
  let woken = await first;
  let worker = woken.worker;
  while (!woken.ended && performance.now() < deadline) {
    woken = await events.next(deadline - performance.now());
    worker ||= woken.worker;
  }
  return { ended: woken.ended, worker };
}

/** Waits until the server lists a client blocked in XREAD: the wait is in place. */
async function blockedInXread(redis: Redis): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const list = (await redis.call('CLIENT', 'LIST')) as string;
    if (/ flags=b .* cmd=xread/.test(list)) return;
    await sleep(25);
  }
  throw new Error('no client blocked in XREAD after 5 s: the set-up did not make the wait');
}

test('a job that ends on the split or a lane queue wakes the wait, also when it ended before the first wait; nothing is read twice', { skip, timeout: 60_000 }, async () => {
  const server = await startRedis();
  const redis = await connectRedis({ url: server.url, timeoutMs: 5000 });
  const events = await PlanEvents.open(redis, [LANE]);
  try {
    // Ended between open and the first wait: what a plan finishing during the first look does.
    await runJob(server, applyQueue(LANE));
    assert.deepEqual(await untilEnded(events, events.next(20_000)), { ended: true, worker: true });
    // Read once: a short wait now sees no further job end.
    assert.equal((await events.next(300)).ended, false);
    // Ended while the wait blocks.
    const woken = events.next(20_000);
    await blockedInXread(redis);
    await runJob(server, SPLIT_QUEUE);
    assert.deepEqual(await untilEnded(events, woken), { ended: true, worker: true });
  } finally {
    events.close();
    redis.disconnect();
  }
});

test('Redis restarted while the wait blocks: the XREAD is sent again once it is back, and the next job end wakes it', { skip, timeout: 60_000 }, async () => {
  const server = await startRedis();
  const redis = await connectRedis({ url: server.url, timeoutMs: 5000 });
  const events = await PlanEvents.open(redis, [LANE]);
  try {
    const woken = events.next(20_000);
    await blockedInXread(redis);
    const before = server.pid;
    await server.restart(500);
    assert.notEqual(server.pid, before, 'a new redis-server runs on the port');
    // The fault struck the blocked wait: it is blocked again on the new server, from the same ids.
    await blockedInXread(redis);
    await runJob(server, applyQueue(LANE));
    assert.deepEqual(await untilEnded(events, woken), { ended: true, worker: true });
  } finally {
    events.close();
    redis.disconnect();
  }
});
