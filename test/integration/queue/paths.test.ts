/**
 * Files are their paths in the cluster too (issue #18, item 6): two folders holding files of the
 * same names (`--pattern 'D/*\/*.tsv.gz'`, a/X and b/X) are two files for the job ids, the plan's
 * records, the spool and status. Before, both were one: b/X was reported done and never loaded.
 * Checked against the oracle after the run and again after a re-enqueue.
 */
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { listLogFiles } from '../../../src/logfile/list-files.js';
import { doneFiles } from '../../helpers/check.js';
import { runCli } from '../../helpers/cli.js';
import { startCluster, clusterSuite } from '../../helpers/cluster.js';
import { expectFrom } from '../../helpers/oracle.js';

const { scratch, skip } = clusterSuite('memc-load-cluster-paths-', {
  data: async (dataset) => {
    // Same start, so the same names in both folders; other seeds, so other keys and values.
    await generateLogs({ dir: join(dataset, 'a'), files: 3, lines: 20_000, seed: 61, repeatRate: 1 / 3 });
    await generateLogs({ dir: join(dataset, 'b'), files: 3, lines: 20_000, seed: 62, repeatRate: 1 / 3 });
  },
});

test('two folders, one file name: both loaded, both renamed, status tells them apart; a re-enqueue plans nothing', { skip, timeout: 150_000 }, async () => {
  const rig = await startCluster();
  const dir = scratch.copy('two-folders');
  const pattern = join(dir, '*', '*.tsv.gz');
  // The loader's own order (by name, then path): a/X before b/X.
  const files = await listLogFiles(pattern);
  assert.equal(files.length, 6);
  assert.deepEqual(new Set(files.map((f) => basename(f))).size, 3, 'the folders share their file names');
  const expected = expectFrom(files);

  rig.startWorker();
  rig.startWorker();
  const run = await rig.enqueue(['--pattern', pattern, '--wait'], 120_000);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), files, 'every path planned, each once');
  assert.match(run.stderr, /plan p1 settled: 6 done, 0 failed, 0 in flight, 0 pending/);
  for (const sub of ['a', 'b']) {
    assert.deepEqual(
      doneFiles(join(dir, sub)).filter((n) => n.endsWith('.tsv.gz')),
      files.filter((f) => f.includes(`/${sub}/`)).map((f) => `.${basename(f)}`),
      `${sub}/: every file renamed`,
    );
  }
  await rig.check(expected);

  const s = await rig.status();
  assert.deepEqual(s.files.map((f) => [f.file, f.state]), files.map((f) => [f, 'done']));
  assert.equal(s.split.completed, 6, 'a split per path');
  for (const lane of s.lanes) assert.equal(lane.completed, 6, `${lane.lane}: an apply per path`);
  const text = await runCli(['status', '--redis', rig.redis.url]);
  assert.equal(text.code, 0, text.stderr);
  for (const f of files) assert.ok(text.stdout.includes(f), `the text status names ${f}`);

  const again = await rig.enqueue(['--pattern', pattern, '--wait']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /nothing to enqueue/);
  await rig.check(expected);
});
