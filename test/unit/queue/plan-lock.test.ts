/**
 * A plan's folder lock (issue #18, item 4): judged by its Redis, not by its pid. The cluster end
 * to end is in test/integration/queue/folder-lock.test.ts; here the verdicts, without Redis.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveOptions } from '../../../src/config/options.js';
import { acquireFolderLock, describeStale, judge, LOCK_FILE, selfHolder, type PlanRef } from '../../../src/logfile/folder-lock.js';
import { withFolderLock } from '../../../src/pipeline/run-lock.js';
import { redisLabel } from '../../../src/queue/redis.js';
import { summarize } from '../../../src/report/run-report.js';
import { freePort } from '../../helpers/memcached.js';
import { folderMaker } from '../../helpers/scratch.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-plan-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
const folder = folderMaker(root);
const plan: PlanRef = { id: 'p7', created: '2026-12-06T03:00:00.000Z', redis: 'redis://127.0.0.1:1' };
// The enqueue that wrote it is gone (a pid no process has): a pid check would call it stale.
const planLock = (p: PlanRef = plan) => JSON.stringify({ pid: 2 ** 22 + 12345, hostname: selfHolder('x').hostname, started: p.created, plan: p });

test('a plan lock is held whatever its pid: only its Redis can tell', () => {
  const v = judge(planLock(), Date.now(), selfHolder('x'));
  assert.equal(v.kind, 'held');
  assert.equal(v.kind === 'held' && v.why, 'plan');
});

test('held while its Redis says in flight (or cannot say): the message names the plan, its Redis and how to see it', async () => {
  const dir = folder();
  writeFileSync(join(dir, LOCK_FILE), planLock());
  await assert.rejects(acquireFolderLock(dir, selfHolder('x'), async () => ({ settled: false, note: 'its Redis did not answer' })), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MCL_ERR_LOCKED');
    assert.match(err.message, /being loaded by plan p7 of Redis redis:\/\/127\.0\.0\.1:1 /);
    assert.match(err.message, /its Redis did not answer; see it with `memc-load status --redis redis:\/\/127\.0\.0\.1:1`/);
    return true;
  });
  await assert.rejects(acquireFolderLock(dir, selfHolder('x')), /plan p7/, 'without a way to ask: held');
  assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), planLock(), 'left as it was');
});

test('settled: taken over, naming the plan', async () => {
  const dir = folder();
  writeFileSync(join(dir, LOCK_FILE), planLock());
  const asked: PlanRef[] = [];
  const got = await acquireFolderLock(dir, selfHolder('x'), async (p) => (asked.push(p), { settled: true }));
  assert.deepEqual(asked, [plan]);
  assert.ok(got !== null && got.tookOver !== null);
  assert.match(describeStale(got.tookOver!), /plan p7 of Redis redis:\/\/127\.0\.0\.1:1 .* which has settled/);
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  await got.lock.release();
});

test('a single-host run meets a plan lock whose Redis refuses connections: held, exit-75 error, nothing run', async () => {
  const dir = folder();
  const closed = { ...plan, redis: `redis://127.0.0.1:${await freePort()}` };
  writeFileSync(join(dir, LOCK_FILE), planLock(closed));
  let ran = false;
  const opts = resolveOptions({ pattern: join(dir, '*.tsv.gz') });
  await assert.rejects(
    withFolderLock(opts, {}, async () => {
      ran = true;
      return summarize([], opts, performance.now());
    }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MCL_ERR_LOCKED');
      assert.match(err.message, /could not be asked whether it is still in flight .*so it counts as in flight/);
      return true;
    },
  );
  assert.equal(ran, false);
  assert.ok(existsSync(join(dir, LOCK_FILE)));
});

test('redisLabel: the URL without its password', () => {
  assert.equal(redisLabel('redis://user:secret@h:6379/2'), 'redis://user@h:6379/2');
  assert.equal(redisLabel('redis://:secret@h:6379'), 'redis://h:6379');
  assert.equal(redisLabel('redis://127.0.0.1:6390'), 'redis://127.0.0.1:6390');
});
