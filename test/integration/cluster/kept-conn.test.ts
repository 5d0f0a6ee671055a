/**
 * The takeover fence on a connection a worker kept from one file to the next (issue #18 item 1,
 * cluster/kept-conn.ts), with real Redis (the fence's records, queue/apply-fence.ts) and real
 * memcached: worker A applies file 0 and keeps its socket; it takes file 1 on that socket, and is
 * stopped there mid-apply (a pause: its socket open, listed by the node, its lock lapsing);
 * worker B takes file 1 over. B must write nothing while the node lists A's socket: that holds
 * only if A's socket was recorded again under file 1's job before A's first write of it (file
 * 0's record was released when A's apply of it ended clean).
 *
 * A's pause is its ownership check never answering (in this one process B must run on); what the
 * fence sees is the same: A's socket open on the node, recorded, with no writes after B's.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { KeptConnections } from '../../../src/cluster/kept-conn.js';
import { applySegment, splitFile, type ApplyResult } from '../../../src/cluster/stages.js';
import { resolveOptions } from '../../../src/config/options.js';
import { generateLogs } from '../../../src/generate/index.js';
import { stats } from '../../../src/memcached/admin.js';
import { fenceKey, leaseGuard, nodeFence } from '../../../src/queue/apply-fence.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { pendingFiles } from '../../helpers/oracle.js';
import { redisMissing, startRedis, stopAllRedis } from '../../helpers/redis.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-kept-');
const skip = redisMissing();
before(async () => {
  if (!skip) await generateLogs({ dir: scratch.dataset, files: 2, lines: 6000, seed: 7, repeatRate: 0.3 });
});
after(async () => {
  await stopAll();
  await stopAllRedis();
  scratch.remove();
});

/** Sets on the node so far. */
const sets = async (address: Parameters<typeof stats>[0]) => Number((await stats(address))['cmd_set']);

test('a worker paused on its kept socket during its next file, taken over: the new holder writes nothing while the node lists that socket', { skip, timeout: 60_000 }, async () => {
  const redis = await startRedis();
  const [node] = await startServers(1);
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  const kept = new KeptConnections(60_000);
  try {
    const label = node!.address.label;
    const opts = resolveOptions({ servers: { idfa: label, gaid: label, adid: label, dvid: label }, workers: 1, batchBytes: 4096, responseTimeoutMs: 3000 });
    const dir = scratch.copy('paused');
    const spool = join(scratch.root, 'spool-paused');
    const [f0, f1] = pendingFiles(dir);
    const m0 = await splitFile(f0!, spool, opts);
    const m1 = await splitFile(f1!, spool, opts);
    const lane = m0.lanes[0]!.server;
    const records1 = m1.lanes[0]!.records;
    assert.ok(m1.lanes[0]!.batches > 4, 'file 1 has batches enough to stop A in its middle');
    // A job as the worker sees it: its lock in Redis (BullMQ's) and its fence.
    const job = async (id: string) => {
      const lockKey = `test:lock:${id}`;
      const token = randomUUID();
      await client.set(lockKey, token, 'PX', 60_000);
      return { lockKey, token, fence: nodeFence(client, lane, { id, lockKey, token, what: `apply ${id} on ${lane}` }) };
    };

    const a0 = await job('file0');
    const r0 = await applySegment(m0, lane, opts, leaseGuard(client, a0.lockKey, a0.token), { fence: a0.fence, kept });
    assert.equal(r0.error, null, r0.error?.message);
    assert.equal(kept.size, 1, 'A keeps its socket for file 1');
    assert.deepEqual(await client.hgetall(fenceKey(lane)), {}, 'file 0\'s record released: it ended clean');

    // A takes file 1 on the kept socket, writes two batches, then stops answering (paused).
    const a1 = await job('file1');
    let checks = 0;
    let wake!: (owner: boolean) => void;
    const woken = new Promise<boolean>((resolve) => (wake = resolve));
    const pausedA = { stillOwner: () => (++checks <= 2 ? true : woken) };
    const applyA: Promise<ApplyResult> = applySegment(m1, lane, opts, pausedA, { fence: a1.fence, kept });
    const deadline = performance.now() + 10_000;
    while (checks <= 2 && performance.now() < deadline) await sleep(5);
    assert.ok(checks > 2, 'A reached its pause mid-file');
    // A's two batches are on the wire when it pauses, not yet necessarily read by the node: on a
    // loaded machine memcached may take a while to get to them, so wait for them to land (they
    // must: nothing else can stop them) before judging what B does.
    let setsA = await sets(node!.address);
    while (setsA <= m0.lanes[0]!.records && performance.now() < deadline) {
      await sleep(20);
      setsA = await sets(node!.address);
    }
    assert.ok(setsA > m0.lanes[0]!.records, 'A wrote some of file 1 before its pause');
    // Still landing? Let the node settle, so B's wait is judged on A's whole two batches.
    for (let again = await sets(node!.address); again !== setsA; again = await sets(node!.address)) {
      setsA = again;
      await sleep(50);
    }
    assert.equal(Object.keys(await client.hgetall(fenceKey(lane))).length, 1, 'A\'s kept socket is recorded under file 1\'s job');

    // A's lock lapses; B takes file 1 over under a new token.
    const tokenB = randomUUID();
    await client.set(a1.lockKey, tokenB, 'PX', 60_000);
    const fenceB = nodeFence(client, lane, { id: 'file1', lockKey: a1.lockKey, token: tokenB, what: `apply file1 on ${lane} (B)` });
    const applyB = applySegment(m1, lane, opts, leaseGuard(client, a1.lockKey, tokenB), { fence: fenceB });
    await sleep(1000);
    assert.equal(await sets(node!.address), setsA, 'B wrote nothing while the node lists A\'s socket');

    // A wakes: its lock is another's, it stops and lets its socket go; then B goes on.
    wake(false);
    const [rA, rB] = await Promise.all([applyA, applyB]);
    assert.equal(rA.lostOwnership, true);
    assert.equal(rB.error, null, rB.error?.message);
    assert.equal(rB.acknowledged, records1);
    assert.equal(kept.size, 0, 'a job that lost its ownership keeps nothing');
    assert.equal(await sets(node!.address), setsA + records1, 'B wrote file 1 whole, after A');
  } finally {
    await kept.close();
    client.disconnect();
    await node!.stop();
    await redis.stop();
  }
});
