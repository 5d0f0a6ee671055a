/**
 * The rename race of commit(F): it reads whether F−1 is renamed (no), then F−1's commit job's
 * state; F−1's commit can rename and complete between the two reads. Read as "F−1 was loaded but
 * not renamed", that failed F and every later file of a plan (seen in the 3-worker load test,
 * queue/load.test.ts, once commits came closer together). Here F−1's commit completes exactly
 * there, every time: inside the fake job's getState.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Job } from 'bullmq';
import { resolveOptions } from '../../../src/config/options.js';
import { donePath } from '../../../src/logfile/mark-done.js';
import { COMMIT_QUEUE } from '../../../src/queue/names.js';
import type { CommitData, Plan } from '../../../src/queue/plan.js';
import { commitJob, type WorkerContext } from '../../../src/queue/processors.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-commit-prev-'));
after(() => rmSync(root, { recursive: true, force: true }));

function setUp(id: string, prevState: 'completed' | 'failed', renameThere: boolean) {
  const prev = join(root, `${id}-20170929000000.tsv.gz`);
  const file = join(root, `${id}-20170929000100.tsv.gz`);
  writeFileSync(prev, '');
  writeFileSync(file, '');
  const options = resolveOptions({ pattern: join(root, '*.tsv.gz'), workers: 0 });
  const plan: Plan = { id, created: new Date().toISOString(), options, spool: join(root, `${id}-spool`), spoolAhead: 16, lanes: [], files: [prev, file], fileKeys: 'path' };
  const records: [string, string][] = [];
  const ctx = {
    queues: {
      // The plan, and the failure records of a file held back (kept: the test reads them).
      redis: { get: async () => JSON.stringify(plan), hsetnx: async (_k: string, f: string, v: string) => void records.push([f, v]), set: async () => 'OK' },
      get: (queue: string) => {
        assert.equal(queue, COMMIT_QUEUE);
        return {
          getJob: async () => ({
            // F−1's commit renames it and completes between commit(F)'s two reads.
            getState: async () => {
              if (renameThere) renameSync(prev, donePath(prev));
              return prevState;
            },
          }),
        };
      },
    },
    closing: () => false,
    log: () => {},
  } as unknown as WorkerContext;
  const job = { data: { plan: id, file, prev } } as unknown as Job<CommitData>;
  return { ctx, job, records, file };
}

test('F−1 renamed and completed between the two reads: commit(F) goes on (here to its manifest, which this set-up has none of)', async () => {
  const t = setUp('race', 'completed', true);
  await assert.rejects(commitJob(t.ctx, t.job, 'token'), (err: Error) => {
    assert.doesNotMatch(err.message, /held back by/);
    assert.match(err.message, /no current split/);
    return true;
  });
});

test('F−1 completed and still not renamed, or failed: commit(F) is held back, naming it', async () => {
  const completed = setUp('kept', 'completed', false);
  await assert.rejects(commitJob(completed.ctx, completed.job, 'token'), /held back by kept-20170929000000\.tsv\.gz, which was loaded but not renamed/);
  assert.deepEqual(completed.records.map(([f, v]) => [f, (JSON.parse(v) as { state: string }).state]), [[completed.file, 'failed']], 'F recorded as failed');
  const failed = setUp('failed', 'failed', false);
  await assert.rejects(commitJob(failed.ctx, failed.job, 'token'), /held back by failed-20170929000000\.tsv\.gz, which failed to load/);
});
