/**
 * The cluster end to end (issue #14): redis-server, four memcached types (idfa a pool of two),
 * three worker processes, 12 files × 30 k lines whose keys repeat across files (a third of the
 * lines): every key read back equals the oracle's plain fold over the files, every file is
 * renamed, each file was planned once however often enqueue ran, and the spool is emptied.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { doneFiles } from '../../helpers/check.js';
import { runCli, stopAllCli } from '../../helpers/cli.js';
import { startCluster } from '../../helpers/cluster.js';
import { freePort, stopAll } from '../../helpers/memcached.js';
import { applyQueue } from '../../../src/queue/names.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';
import { redisMissing, stopAllRedis } from '../../helpers/redis.js';
import { Scratch } from '../../helpers/scratch.js';
import { faultSuitesOff } from '../../helpers/fault-suites.js';

const FILES = Number(process.env['MEMC_CLUSTER_FILES'] ?? 12);
// 30 k lines a file: every stage still runs many batches and segments per file, and the whole
// took 24 s on a loaded 2-core machine, where 100 k took 97 s of CI's run; MEMC_CLUSTER_LINES=100000 for the old size,
// and the bench's cluster row loads 3 × 1 M lines.
const LINES = Number(process.env['MEMC_CLUSTER_LINES'] ?? 30_000);
const scratch = new Scratch('memc-load-cluster-');
before(async () => {
  if (redisMissing()) return;
  await generateLogs({ dir: scratch.dataset, files: FILES, lines: LINES, seed: 14, repeatRate: 1 / 3, badRate: 0.001 });
});
after(async () => {
  await stopAllCli();
  await stopAll();
  await stopAllRedis();
  scratch.remove();
});

test(`${FILES} files × ${LINES} lines through enqueue and 3 workers: every value the oracle's, every file renamed once`, { skip: faultSuitesOff() || redisMissing(), timeout: 240_000 }, async () => {
  const rig = await startCluster();
  const dir = scratch.copy('run');
  const files = pendingFiles(dir);
  const expected = expectFrom(files);
  const pattern = join(dir, '*.tsv.gz');

  const first = await rig.enqueue(['--pattern', pattern]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, new RegExp(`planned p1: ${FILES} file\\(s\\)`));
  assert.deepEqual(first.stdout.trim().split('\n'), files, 'planned oldest first');
  // Again while the plan is in flight (no worker runs yet): nothing is planned twice.
  const again = await rig.enqueue(['--pattern', pattern]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /nothing to enqueue/);

  const ports = [await freePort(), await freePort(), await freePort()];
  for (const port of ports) rig.startWorker(['--metrics-port', String(port)]);
  const waited = await rig.enqueue(['--pattern', pattern, '--wait'], 200_000);
  assert.equal(waited.code, 0, waited.stderr);
  assert.match(waited.stderr, new RegExp(`plan p1 settled: ${FILES} done, 0 failed, 0 in flight, 0 pending`));

  assert.deepEqual(doneFiles(dir).filter((n) => n.endsWith('.tsv.gz')), files.map((f) => `.${basename(f)}`));
  await rig.check(expected);

  const s = await rig.status();
  assert.equal(s.plan, 'p1');
  assert.equal(s.settled, true);
  assert.deepEqual(s.counts, { done: FILES, failed: 0, in_flight: 0, pending: 0 });
  assert.equal(s.split.completed, FILES, 'each file split once');
  for (const lane of s.lanes) assert.deepEqual([lane.completed, lane.failed], [FILES, 0], `${lane.lane}: one apply per file`);
  assert.equal(s.lanes.length, 5, 'a lane per node: the pool of two is two lanes');
  const spool = join(dir, '.memc-load-spool');
  assert.ok(!existsSync(spool) || readdirSync(spool).length === 0, `the spool is emptied as files commit: ${existsSync(spool) ? readdirSync(spool).join(',') : ''}`);

  // The human status names the plan, every node and every file.
  const text = await runCli(['status', '--redis', rig.redis.url]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`plan p1 .*settled; files: ${FILES} done, 0 failed`));
  for (const n of rig.nodes.flat()) assert.ok(text.stdout.includes(n.address.label), `status names ${n.address.label}`);

  // The workers' metrics add up to the plan's jobs: a split per file, an apply per file and node.
  const jobs = (text: string, queue: string) => Number(new RegExp(`memc_load_cluster_jobs_total\\{queue="${queue}",outcome="completed"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  const scraped = await Promise.all(ports.map(async (p) => (await fetch(`http://127.0.0.1:${p}/metrics`)).text()));
  assert.equal(scraped.reduce((n, t) => n + jobs(t, 'split'), 0), FILES, 'split jobs completed, over the workers');
  assert.equal(scraped.reduce((n, t) => n + jobs(t, 'commit'), 0), FILES);
  assert.equal(scraped.reduce((n, t) => n + jobs(t, applyQueue(rig.nodes[1]![0]!.address.label)), 0), FILES);
  assert.equal((await fetch(`http://127.0.0.1:${ports[0]}/healthz`)).status, 200);

  // Nothing pending: enqueue plans nothing and makes no new plan.
  const idle = await rig.enqueue(['--pattern', pattern]);
  assert.equal(idle.code, 0, idle.stderr);
  assert.match(idle.stderr, /nothing to enqueue/);
  assert.equal((await rig.status()).plan, 'p1');

  for (const w of rig.workers) w.child.kill('SIGTERM');
  for (const w of rig.workers) {
    const r = await w.done;
    assert.equal(r.code, 0, `a worker stops cleanly on SIGTERM: ${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, /worker stopped/);
  }
});
