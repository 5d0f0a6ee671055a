/**
 * One run per folder in either mode (issue #18, items 4 and 8), with the loaders on hosts of their
 * own (network namespaces; Redis and the nodes in another: rig.ts):
 * - a single-host run (host 0) on a folder whose plan is in flight loads nothing and exits 75
 *   naming the plan and how to see it; a worker (host 1) then completes the plan, the folder is
 *   free, and a single-host run after it loads nothing stale;
 * - an enqueue on a folder a single-host run holds (a --watch run on host 0) plans nothing and
 *   exits 75 naming its pid and host; after that run stops, enqueue plans the rest.
 * Values are checked against the oracle after the runs and again after a re-enqueue. The fault
 * is made by construction before anything is judged: the plan is in flight because no worker
 * runs yet; the --watch run holds the folder once it has loaded the files there.
 * On the code before the folder lock (1b7573b, the parent of 910e638) both cases failed 2 runs of
 * 2: the single-host run loaded during the plan (exit 0), the enqueue said 'nothing to enqueue'.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateLogs } from '../../../src/generate/index.js';
import { LOCK_FILE } from '../../../src/logfile/folder-lock.js';
import { doneFiles } from '../../helpers/check.js';
import { expectFrom, pendingFiles, type Expected } from '../../helpers/oracle.js';
import { escapeRegExp } from '../../helpers/scratch.js';
import { hostsSuite, startHostsRig, type HostsRig } from './rig.js';

let expected: Expected;
const { scratch, skip } = hostsSuite('memc-load-hosts-lock-', async (dataset) => {
  await generateLogs({ dir: dataset, files: 3, lines: 6_000, seed: 81, repeatRate: 1 / 2 });
  expected = expectFrom(pendingFiles(dataset));
});

/** Every value the oracle's, then again after a re-enqueue, which finds nothing to do. */
async function checkedTwice(rig: HostsRig, pattern: string): Promise<void> {
  await rig.check(expected);
  const again = await rig.enqueue(['--pattern', pattern, '--wait']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /nothing to enqueue/);
  await rig.check(expected);
}

const tsv = (dir: string) => doneFiles(dir).filter((n) => n.endsWith('.tsv.gz'));
const dotted = (files: readonly string[]) => files.map((f) => `.${basename(f)}`);

test('a single-host run during a plan exits 75 naming the plan; after the plan the folder is free and nothing stale is loaded', { skip, timeout: 150_000 }, async () => {
  const starting = startHostsRig(2);
  const dir = scratch.copy('single-during-plan');
  const files = pendingFiles(dir);
  const pattern = join(dir, '*.tsv.gz');
  const single = ['--pattern', pattern, '-q'];
  const rig = await starting;
  try {
    const [singleHost, workerHost] = rig.lab.hosts;
    // No worker yet: the plan is in flight for as long as the test needs.
    const planned = await rig.enqueue(['--pattern', pattern]);
    assert.equal(planned.code, 0, planned.stderr);
    const during = await rig.startSingle(singleHost!, single, 60_000).done;
    assert.equal(during.code, 75, during.stderr);
    assert.match(during.stderr, new RegExp(`being loaded by plan p1 of Redis ${escapeRegExp(rig.redis.url)}`));
    assert.match(during.stderr, new RegExp(`memc-load status --redis ${escapeRegExp(rig.redis.url)}`));
    assert.deepEqual(tsv(dir), [], 'the single-host run loaded nothing');
    const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { plan?: { id: string; redis: string } };
    assert.deepEqual([lock.plan?.id, lock.plan?.redis], ['p1', rig.redis.url], 'the plan holds the folder, naming itself and its Redis');

    rig.startWorker(workerHost!);
    const waited = await rig.enqueue(['--pattern', pattern, '--wait'], 120_000);
    assert.equal(waited.code, 0, waited.stderr);
    assert.deepEqual(tsv(dir), dotted(files));
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, "the commit of the plan's last file freed the folder");
    await rig.check(expected);

    const afterPlan = await rig.startSingle(singleHost!, single, 60_000).done;
    assert.equal(afterPlan.code, 0, afterPlan.stderr);
    await checkedTwice(rig, pattern);
  } finally {
    await rig.stop();
  }
});

test('an enqueue on a folder a single-host run holds exits 75 naming its pid and host; once it stops, enqueue plans the rest', { skip, timeout: 150_000 }, async () => {
  const starting = startHostsRig(2);
  const dir = scratch.copy('enqueue-during-single');
  const files = pendingFiles(dir);
  const pattern = join(dir, '*.tsv.gz');
  const last = files[files.length - 1]!;
  const aside = join(scratch.root, basename(last));
  renameSync(last, aside);
  const rig = await starting;
  try {
    const [singleHost, workerHost] = rig.lab.hosts;
    const watch = rig.startSingle(singleHost!, ['--pattern', pattern, '--watch', '--watch-interval', '100'], 120_000);
    await watch.waitForStderr(/Watching /, 60_000);
    for (let i = 0; i < 600 && tsv(dir).length < files.length - 1; i++) await sleep(100);
    assert.equal(tsv(dir).length, files.length - 1, 'the single-host run loaded the files there, and holds the folder');

    rig.startWorker(workerHost!);
    const during = await rig.enqueue(['--pattern', pattern, '--wait']);
    assert.equal(during.code, 75, during.stderr);
    assert.match(during.stderr, new RegExp(`being loaded by pid ${watch.child.pid} on host ${escapeRegExp(hostname())}`));
    assert.equal((await rig.status()).plan, null, 'nothing planned');

    watch.child.kill('SIGTERM');
    const stopped = await watch.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    renameSync(aside, last);
    const waited = await rig.enqueue(['--pattern', pattern, '--wait'], 120_000);
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr, new RegExp(`planned p1: 1 file\\(s\\), ${escapeRegExp(last)}`));
    assert.deepEqual(tsv(dir), dotted(files));
    await checkedTwice(rig, pattern);
  } finally {
    await rig.stop();
  }
});
