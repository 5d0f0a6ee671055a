/**
 * The split job's side of the hand-off (queue/processors.ts splitJob, cluster/hand-off.ts): an
 * apply it feeds that loses its lease sends the split job back to the head of its queue (the
 * apply runs again and needs the file split again), with an event saying why and no failure
 * recorded; an apply it feeds that fails on its node fails the split, recorded as the file's
 * failure. Fake BullMQ job and Redis, real files and split.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import type { Job } from 'bullmq';
import { HandOffs } from '../../../src/cluster/hand-off.js';
import { resolveOptions } from '../../../src/config/options.js';
import type { Plan, SplitData } from '../../../src/queue/plan.js';
import { splitJob, type WorkerContext } from '../../../src/queue/processors.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-split-hand-off-'));
after(() => rmSync(root, { recursive: true, force: true }));

const NODE = '127.0.0.1:33016';

function setUp(name: string) {
  const dir = join(root, name);
  mkdirSync(dir);
  const file = join(dir, '20170929000000.tsv.gz');
  writeFileSync(file, gzipSync('dvid\t1rfw452y52g2gq4g\t55.55\t42.42\t1423,43,567,3,7,23\n'));
  const options = resolveOptions({ pattern: join(dir, '*.tsv.gz'), workers: 0, servers: { dvid: NODE } });
  const spool = join(dir, '.memc-load-spool');
  const plan: Plan = { id: name, created: new Date().toISOString(), options, spool, spoolAhead: 16, lanes: [], files: [file], fileKeys: 'path' };
  const events: string[] = [];
  const failures: string[] = [];
  const handOffs = new HandOffs();
  const ctx = {
    queues: {
      redis: {
        get: async () => JSON.stringify(plan),
        scard: async () => 0,
        rpush: async (_k: string, text: string) => void events.push(text),
        ltrim: async () => 'OK',
        hsetnx: async (_k: string, _f: string, v: string) => void failures.push(v),
        set: async () => 'OK',
      },
    },
    closing: () => false,
    log: () => {},
    logger: { log: () => {} },
    splitThreads: () => 0,
    handOffs,
  } as unknown as WorkerContext;
  const moved: string[] = [];
  const job = {
    data: { plan: name, file, index: 0 },
    attemptsStarted: 1,
    stalledCounter: 0,
    moveToWait: async (token: string) => void moved.push(token),
  } as unknown as Job<SplitData>;
  return { file, spool, ctx, job, handOffs, events, failures, moved };
}

test('an apply fed by the split loses its lease: the split job goes back to its queue, says why, records no failure and leaves no manifest', async () => {
  const t = setUp('lost');
  const offer = t.handOffs.offer('lost', t.file, NODE);
  void offer.claimed.then((source) => source.settle({ clean: false, lostOwnership: true, why: 'its lease ran out mid-apply' }));
  await assert.rejects(splitJob(t.ctx, t.job, 'tok'), (err: Error) => err.name === 'WaitingError');
  assert.deepEqual(t.moved, ['tok'], 'moved back to wait, under its own token');
  assert.equal(t.events.length, 1);
  assert.match(t.events[0]!, /split 20170929000000\.tsv\.gz: .*its apply on 127\.0\.0\.1:33016: its lease ran out mid-apply; no manifest written: the split runs again/);
  assert.deepEqual(t.failures, [], 'not a failure of the file');
  const folders = existsSync(t.spool) ? readdirSync(t.spool) : [];
  assert.ok(folders.every((f) => !readdirSync(join(t.spool, f)).includes('manifest.json')), 'no manifest');
});

test('an apply fed by the split fails on its node: the split fails, recorded as the file\'s failure', async () => {
  const t = setUp('failed');
  const offer = t.handOffs.offer('failed', t.file, NODE);
  void offer.claimed.then((source) => source.settle({ clean: false, lostOwnership: false, why: `memcached ${NODE} refused 1 write(s)` }));
  await assert.rejects(splitJob(t.ctx, t.job, 'tok'), (err: Error) => {
    assert.equal(err.name, 'UnrecoverableError');
    assert.match(err.message, /its apply on 127\.0\.0\.1:33016: memcached 127\.0\.0\.1:33016 refused 1 write\(s\); no manifest written: the file fails with it/);
    return true;
  });
  assert.deepEqual(t.moved, []);
  assert.equal(t.failures.length, 1);
  assert.match(JSON.parse(t.failures[0]!).reason as string, /^split: .*refused 1 write/);
});
