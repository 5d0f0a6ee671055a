/**
 * A real worker's /metrics under the loader's names (issue #20, items 3 and 4): the current
 * plan's lag, per-node up / given up, records loaded, and that it takes jobs; `status` shows the
 * lag. A node is then killed: the worker's next apply gives it up, and the gauges say so. Real
 * Redis, memcached, bin. A fault suite (it kills a server): Node 24 only in CI.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { runCli } from '../../helpers/cli.js';
import { clusterSuite, startCluster } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/memcached.js';
import { expectFrom } from '../../helpers/oracle.js';
import { processState } from '../../helpers/proc.js';

/** Two minutes ending `minutesAgo` before now (UTC, whole minutes): `YYYY-MM-DD hh:mm:00` and the two file names. */
function minutes(minutesAgo: number): { start: string; names: [string, string] } {
  const t = Math.floor(Date.now() / 60_000 - minutesAgo) * 60_000;
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return { start: new Date(t).toISOString().slice(0, 19).replace('T', ' '), names: [`${stamp(t)}.tsv.gz`, `${stamp(t + 60_000)}.tsv.gz`] };
}

const when = minutes(20);
const { scratch, skip } = clusterSuite('memc-load-worker-metrics-', {
  fault: true,
  data: (dataset) => generateLogs({ dir: dataset, files: 2, lines: 300, seed: 31, start: when.start }),
});

function series(body: string, name: string, labels = ''): number[] {
  const set = labels === '' ? '(?:\\{[^}]*\\})?' : `\\{[^}]*${labels}[^}]*\\}`;
  return [...body.matchAll(new RegExp(`^${name}${set} (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
}

test('a worker exports the plan\'s lag and each node\'s state; a killed node shows as given up', { skip }, async () => {
  const rig = await startCluster();
  const port = await freePort();
  const worker = rig.startWorker(['--metrics-port', String(port)]);
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const dir = join(scratch.root, 'logs');
  mkdirSync(dir);
  const [first, second] = when.names;
  copyFileSync(join(scratch.dataset, first), join(dir, first));
  const pattern = join(dir, '*.tsv.gz');

  const ok = await rig.enqueue(['--pattern', pattern, '--wait']);
  assert.equal(ok.code, 0, ok.stderr);
  let body = await scrape();
  const esc = pattern.replace(/[.*]/g, (c) => `\\${c}`);
  assert.deepEqual(series(body, 'memc_load_oldest_pending_file_age_seconds', `pattern="${esc}"`), [0], body);
  const [doneAge] = series(body, 'memc_load_newest_done_file_age_seconds', `pattern="${esc}"`);
  assert.ok(doneAge! >= 20 * 60 && doneAge! < 22 * 60, `newest done ${doneAge} s: the first file's minute`);
  assert.deepEqual(series(body, 'memc_load_cluster_worker_running'), [1]);
  const nodes = rig.nodes.flat().map((n) => n.address.label);
  for (const n of nodes) assert.deepEqual(series(body, 'memc_load_server_up', `server="${n}"`), [1], `${n} up`);
  const loaded = series(body, 'memc_load_server_records_loaded_total').reduce((a, b) => a + b, 0);
  assert.equal(loaded, expectFrom([join(scratch.dataset, first)]).records.length, 'records loaded, over the nodes');
  const status = await runCli(['status', '--redis', rig.redis.url]);
  assert.match(status.stdout, new RegExp(`^lag: nothing pending; newest done ${first.replace('.', '\\.')}, 2\\dm( \\d+s)? old$`, 'm'), status.stdout);

  // The fault: gaid's only node dies, and is seen gone before the next file is enqueued.
  const victim = rig.nodes[1]![0]!;
  await victim.kill();
  assert.equal(processState(victim.pid), null);
  copyFileSync(join(scratch.dataset, second), join(dir, second));
  const failed = await rig.enqueue(['--pattern', pattern, '--wait', '--retries', '1', '--connect-timeout', '500']);
  assert.equal(failed.code, 1, failed.stderr);
  body = await scrape();
  assert.deepEqual(series(body, 'memc_load_server_given_up', `server="${victim.address.label}"`), [1], body);
  assert.deepEqual(series(body, 'memc_load_server_up', `server="${victim.address.label}"`), [0]);
  for (const n of nodes.filter((l) => l !== victim.address.label)) assert.deepEqual(series(body, 'memc_load_server_given_up', `server="${n}"`), [0], `${n} not given up`);
  const [pendingAge] = series(body, 'memc_load_oldest_pending_file_age_seconds', `pattern="${esc}"`);
  assert.ok(pendingAge! >= 19 * 60 && pendingAge! < 21 * 60, `oldest pending ${pendingAge} s: the second file's minute`);
  assert.ok(series(body, 'memc_load_cluster_jobs_total', 'outcome="failed"').reduce((a, b) => a + b, 0) > 0);

  worker.child.kill('SIGTERM');
  assert.equal((await worker.done).code, 0);
});
