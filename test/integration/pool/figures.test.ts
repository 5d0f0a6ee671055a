/**
 * Per-node figures (issue #13): the report has a row per node of every pool, in lane order, with
 * its records, loaded, failed writes, evictions, batches and batch latency; a node that is down
 * has its own row of failures while its pool's other node loads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { stats } from '../../../src/memcached/admin.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { refusedAddress, startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-pool-fig-');
before(async () => {
  await generateLogs({ dir: scratch.dataset, files: 2, lines: 3000, seed: 29, repeatRate: 0.2 });
});
after(async () => {
  await stopAll();
  scratch.remove();
});

interface NodeRow {
  server: string;
  types: string[];
  records: number;
  loaded: number;
  failedWrites: number;
  evictions: number;
  storeNoMemory: number;
  batches: number;
  batchLatencySeconds: { mean: number; max: number } | null;
}

test('the report has a row per node: records, loaded, failed writes, evictions, batches, latency', async () => {
  const servers = await startServers(5);
  const dead = (await refusedAddress()).label;
  const [a, b, c, d, e] = servers.map((s) => s.address.label) as [string, string, string, string, string];
  const dir = scratch.copy('run');
  const expected = expectFrom(pendingFiles(dir));
  const report = join(scratch.root, 'report.json');
  const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--retries', '0', '--report', report, ...serverArgs([`${a},${b}`, `${c},${dead}`, d, e])]);
  assert.equal(run.code, 1, run.stderr);
  const nodes = (JSON.parse(readFileSync(report, 'utf8')) as { nodes: NodeRow[] }).nodes;
  assert.deepEqual(nodes.map((n) => [n.server, n.types]), [[a, ['idfa']], [b, ['idfa']], [c, ['gaid']], [dead, ['gaid']], [d, ['adid']], [e, ['dvid']]]);

  const count = (type: string) => expected.records.filter((r) => r.type === type).length;
  assert.equal(nodes[0]!.records + nodes[1]!.records, count('idfa'), 'the idfa records, split over its two nodes');
  assert.equal(nodes[2]!.records + nodes[3]!.records, count('gaid'));
  for (const n of [nodes[0]!, nodes[1]!, nodes[2]!, nodes[4]!, nodes[5]!]) {
    assert.ok(n.records > 0 && n.loaded === n.records && n.failedWrites === 0, JSON.stringify(n));
    assert.ok(n.batches > 0 && n.batchLatencySeconds !== null && n.batchLatencySeconds.max >= n.batchLatencySeconds.mean && n.batchLatencySeconds.mean > 0, JSON.stringify(n));
    assert.equal(n.evictions, 0);
    const items = Number((await stats(servers.find((s) => s.address.label === n.server)!.address))['curr_items']);
    assert.ok(items > 0 && items <= n.loaded, `${n.server}: ${items} items of ${n.loaded} loaded`);
  }
  const down = nodes[3]!;
  assert.ok(down.records > 0, 'the dead node had records routed to it');
  assert.equal(down.failedWrites, down.records, 'every one of them failed');
  assert.equal(down.loaded, 0);
  assert.equal(down.batchLatencySeconds, null);
});
