/**
 * The cluster commands at their edges, through the real bin: a Redis that may evict is refused
 * (exit 2) before anything is planned, an unreachable one is a one-line MCL_ERR_REDIS (exit 1),
 * a missing --redis is a usage error, each command has its --help; and a worker stopped by
 * SIGTERM mid-run finishes or hands back its jobs, exits 0, and another worker completes the run.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { generateLogs } from '../../../src/generate/index.js';
import { PREFIX, SPLIT_QUEUE } from '../../../src/queue/names.js';
import { doneFiles } from '../../helpers/check.js';
import { runCli } from '../../helpers/cli.js';
import { firstMatch, startCluster, clusterSuite } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';
import { startRedis } from '../../helpers/redis.js';
import { escapeRegExp } from '../../helpers/scratch.js';

const { scratch, skip } = clusterSuite('memc-load-cluster-cmd-', {
  data: async (dataset) => {
    await generateLogs({ dir: dataset, files: 4, lines: 60_000, seed: 5, repeatRate: 1 / 3 });
  },
});

test('a Redis with maxmemory-policy allkeys-lru is refused by every command, exit 2, nothing planned', { skip }, async () => {
  const redis = await startRedis({ policy: 'allkeys-lru' });
  const dir = scratch.copy('lru');
  for (const args of [['enqueue', '--pattern', join(dir, '*.tsv.gz')], ['worker'], ['status']]) {
    const r = await runCli([...args, '--redis', redis.url]);
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`memc-load ${args[0]}: Redis at 127\\.0\\.0\\.1:${redis.port} runs with maxmemory-policy allkeys-lru: .*Set maxmemory-policy noeviction .*\\[MCL_ERR_CONFIG\\]`));
  }
  assert.deepEqual(pendingFiles(dir).length, 4, 'nothing renamed');
});

test('an unreachable Redis: one line naming it, MCL_ERR_REDIS, exit 1', { skip }, async () => {
  const port = await freePort();
  const r = await runCli(['status', '--redis', `redis://127.0.0.1:${port}`, '--redis-timeout', '500']);
  assert.equal(r.code, 1, r.stderr);
  // Nothing listens there: the socket's own reason, not the client library's "Connection is closed".
  assert.match(r.stderr, new RegExp(`^memc-load status: could not reach Redis at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); is redis-server running there\\? \\[MCL_ERR_REDIS\\]\\n$`));
});

test('usage: --redis is required, a bad URL or flag is exit 2; each command has its --help', async () => {
  const none = await runCli(['enqueue', '--pattern', '/tmp/x/*.tsv.gz'], { env: { ...process.env, MEMC_LOAD_REDIS: '' } });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /enqueue: give --redis URL .* or set MEMC_LOAD_REDIS/);
  const url = await runCli(['status', '--redis', 'http://x']);
  assert.equal(url.code, 2);
  assert.match(url.stderr, /--redis: "http:\/\/x" is not a redis:\/\/ or rediss:\/\/ URL/);
  const flag = await runCli(['worker', '--redis', 'redis://127.0.0.1:1', '--pattern', 'x']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /worker: Unknown option '--pattern'/);
  for (const [cmd, mention] of [['enqueue', '--spool DIR'], ['worker', '--concurrency N'], ['status', '--json']] as const) {
    const h = await runCli([cmd, '--help']);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, new RegExp(`Usage: memc-load ${cmd} --redis URL[\\s\\S]*${escapeRegExp(mention)}`));
  }
  const main = await runCli(['--help']);
  assert.match(main.stdout, /memc-load enqueue --redis URL/);
});

test('SIGTERM mid-run: the worker finishes or hands back its jobs and exits 0; another completes the run, right', { skip, timeout: 120_000 }, async () => {
  const rig = await startCluster();
  const dir = scratch.copy('sigterm');
  const files = pendingFiles(dir);
  const expected = expectFrom(files);
  const pattern = join(dir, '*.tsv.gz');
  // A long lock: were anything left to lapse instead of handed back, the run would stall past the deadline below.
  const w = rig.startWorker(['--lock-duration', '60000']);
  const planned = await rig.enqueue(['--pattern', pattern]);
  assert.equal(planned.code, 0, planned.stderr);
  await firstMatch([w], new RegExp(`split ${escapeRegExp(basename(files[1]!))}: started`));
  w.child.kill('SIGTERM');
  const stopped = await w.done;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /SIGTERM: taking no more jobs[\s\S]*worker stopped/);
  assert.doesNotMatch(stopped.stderr, /job \S+ failed/, 'nothing failed on the way out');

  rig.startWorker(['--lock-duration', '60000']);
  const t0 = performance.now();
  const waited = await rig.enqueue(['--pattern', pattern, '--wait'], 60_000);
  assert.equal(waited.code, 0, waited.stderr);
  assert.ok(performance.now() - t0 < 50_000, 'no job waited for a lock to lapse');
  assert.deepEqual(doneFiles(dir).filter((n) => n.endsWith('.tsv.gz')), files.map((f) => `.${basename(f)}`));
  await rig.check(expected);
});

test('--spool-ahead 1: the spool holds the file being committed and one more at most, and the run completes', { skip, timeout: 120_000 }, async () => {
  const rig = await startCluster();
  const dir = scratch.copy('ahead');
  const files = pendingFiles(dir);
  const expected = expectFrom(files);
  const spool = join(scratch.root, 'ahead-spool');
  for (let i = 0; i < 3; i++) rig.startWorker();
  let most = 0;
  const watch = setInterval(() => {
    const n = existsSync(spool) ? readdirSync(spool).length : 0;
    most = Math.max(most, n);
  }, 5);
  try {
    const waited = await rig.enqueue(['--pattern', join(dir, '*.tsv.gz'), '--spool', spool, '--spool-ahead', '1', '--wait']);
    assert.equal(waited.code, 0, waited.stderr);
  } finally {
    clearInterval(watch);
  }
  assert.ok(most >= 1 && most <= 2, `file folders in the spool at once: ${most}`);
  assert.deepEqual(doneFiles(dir).filter((n) => n.endsWith('.tsv.gz')), files.map((f) => `.${basename(f)}`));
  await rig.check(expected);
});

test('SIGTERM while applies wait for their split: they go back to their queues, the worker exits 0, the next worker loads all', { skip, timeout: 120_000 }, async () => {
  const rig = await startCluster();
  const dir = scratch.copy('hand-back');
  const files = pendingFiles(dir);
  const expected = expectFrom(files);
  const pattern = join(dir, '*.tsv.gz');
  const planned = await rig.enqueue(['--pattern', pattern]);
  assert.equal(planned.code, 0, planned.stderr);
  // No split runs while the split queue is paused: every node's apply of file 0 starts and waits.
  const redis = new Redis(rig.redis.url, { maxRetriesPerRequest: null });
  const splits = new Queue(SPLIT_QUEUE, { connection: redis, prefix: PREFIX });
  try {
    await splits.pause();
    const w = rig.startWorker(['--lock-duration', '60000']);
    for (const n of rig.nodes.flat()) await w.waitForStderr(new RegExp(`apply ${escapeRegExp(basename(files[0]!))} on ${escapeRegExp(n.address.label)}: started`));
    const t0 = performance.now();
    w.child.kill('SIGTERM');
    const stopped = await w.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(performance.now() - t0 < 10_000, 'handed back at once, not after the lock');
    assert.doesNotMatch(stopped.stderr, /job \S+ failed/);
    const s = await rig.status();
    for (const l of s.lanes) assert.deepEqual([l.waiting, l.active, l.failed], [files.length, 0, 0], `${l.lane}: its jobs back in the queue`);
    await splits.resume();
  } finally {
    await splits.close();
    redis.disconnect();
  }
  rig.startWorker(['--lock-duration', '60000']);
  const waited = await rig.enqueue(['--pattern', pattern, '--wait'], 60_000);
  assert.equal(waited.code, 0, waited.stderr);
  assert.deepEqual(doneFiles(dir).filter((n) => n.endsWith('.tsv.gz')), files.map((f) => `.${basename(f)}`));
  await rig.check(expected);
});
