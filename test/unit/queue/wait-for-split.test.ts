/**
 * The manifest race (issue #18, item 8): an apply reads its file's manifest (none yet), then the
 * split job's state; the split can complete between the two reads. With 600 small files a plan
 * failed at a random file with "split of X is completed but … holds no current manifest". Here
 * the split completes exactly there, every time: inside the fake job's getState.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import type { Job } from 'bullmq';
import { readManifest, splitFile } from '../../../src/cluster/stages.js';
import { resolveOptions } from '../../../src/config/options.js';
import { SPLIT_QUEUE } from '../../../src/queue/names.js';
import type { ApplyData, Plan } from '../../../src/queue/plan.js';
import { waitForSplit, type WorkerContext } from '../../../src/queue/processors.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-wait-split-'));
after(() => rmSync(root, { recursive: true, force: true }));

function setUp(name: string, splitState: 'completed' | 'missing', text: string) {
  const dir = join(root, name);
  mkdirSync(dir);
  const file = join(dir, '20170929000000.tsv.gz');
  const spool = join(dir, '.memc-load-spool');
  writeFileSync(file, gzipSync(text));
  const options = resolveOptions({ pattern: join(dir, '*.tsv.gz'), workers: 0 });
  const plan: Plan = { id: 'p1', created: new Date().toISOString(), options, spool, spoolAhead: 16, lanes: [], files: [file], fileKeys: 'path' };
  let asked = 0;
  const ctx = {
    queues: {
      get: (queue: string) => {
        assert.equal(queue, SPLIT_QUEUE);
        return {
          getJob: async () => ({
            // The split finishes between the apply's read of the manifest and this read of its state.
            getState: async () => {
              asked++;
              if (splitState === 'completed') await splitFile(file, spool, options);
              return splitState;
            },
          }),
        };
      },
    },
    closing: () => false,
    log: () => {},
  } as unknown as WorkerContext;
  const job = { data: { plan: 'p1', file, lane: '127.0.0.1:33013' } } as unknown as Job<ApplyData>;
  return { dir, file, spool, plan, ctx, job, asked: () => asked };
}

test('a split that completes between the manifest read and the state read: the apply goes on with its manifest', async () => {
  const t = setUp('race', 'completed', 'idfa\t1rfw452y52g2gq4g\t55.55\t42.42\t1423,43,567,3,7,23\n');
  assert.equal(await readManifest(t.file, t.spool), undefined, 'no manifest before the wait: the race is set up');
  const { manifest: m } = await waitForSplit(t.ctx, t.job, 'token', t.plan);
  assert.equal(t.asked(), 1, 'the split completed inside the first state read');
  assert.equal(m?.file, t.file);
  assert.equal(m?.records, 1);
});

test('a split completed with no manifest at all (the input changed since) still fails, naming the spool', async () => {
  const t = setUp('gone', 'missing', 'idfa\tx\t1\t2\t3\n');
  await assert.rejects(waitForSplit(t.ctx, t.job, 'token', t.plan), (err: Error) => {
    assert.match(err.message, new RegExp(`split of 20170929000000.tsv.gz is missing but ${t.spool.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds no current manifest`));
    return true;
  });
});
