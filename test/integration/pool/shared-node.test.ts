/**
 * One meaning of "lane" in both modes (issue #18, item 1e): a lane is one memcached node. A node
 * listed for two device types is one lane on one host (one connection, one row of the report) as
 * it is in the cluster (one segment in the split's manifest), and every value is right.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { splitFile } from '../../../src/cluster/stages.js';
import { resolveOptions } from '../../../src/config/options.js';
import { generateLogs } from '../../../src/generate/index.js';
import { load } from '../../../src/index.js';
import { stats } from '../../../src/memcached/admin.js';
import { compareValues } from '../../helpers/check.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-shared-node-');
before(async () => {
  await generateLogs({ dir: scratch.dataset, files: 2, lines: 4000, seed: 23, repeatRate: 0.4, keyPool: 700 });
});
after(async () => {
  await stopAll();
  scratch.remove();
});

test('a node listed for idfa and gaid is one lane: one connection and one report row on one host, one segment in the cluster', async () => {
  const [a, b, c] = await startServers(3);
  const [la, lb, lc] = [a!.address.label, b!.address.label, c!.address.label];
  // A generous timeout: a reconnect under load would open a connection the count below is not about.
  const opts = resolveOptions({ servers: { idfa: la, gaid: la, adid: lb, dvid: lc }, workers: 1, batchBytes: 8192, responseTimeoutMs: 30_000 });
  const dir = scratch.copy('single');
  const expected = expectFrom(pendingFiles(dir));
  const connections = async () => Promise.all([a!, b!].map(async (n) => Number((await stats(n.address))['total_connections'])));

  const before = await connections();
  const report = await load({ ...opts, pattern: join(dir, '*.tsv.gz') });
  const after = await connections();
  assert.equal(report.ok, true);
  // Each server is read for its counters the same number of times; the lanes are what differ.
  const opened = [(after[0] as number) - (before[0] as number), (after[1] as number) - (before[1] as number)];
  assert.equal(opened[0], opened[1], `connections opened to the shared node and to adid's own node, over the run: ${opened.join(' and ')}`);
  assert.deepEqual(
    report.nodes.map((n) => [n.server, [...n.types]]),
    [
      [la, ['idfa', 'gaid']],
      [lb, ['adid']],
      [lc, ['dvid']],
    ],
  );
  for (const type of ['idfa', 'gaid'] as const) {
    const { missing, wrong, example } = await compareValues(a!.address, expected.byType[type] as Map<string, Buffer>);
    assert.equal(missing + wrong, 0, `${type} on ${la}: ${missing} missing, ${wrong} wrong, e.g. ${example}`);
  }

  const spool = join(scratch.root, 'spool');
  const file = pendingFiles(scratch.copy('cluster'))[0] as string;
  const oneFile = expectFrom([file]);
  const manifest = await splitFile(file, spool, opts);
  assert.deepEqual(
    manifest.lanes.map((l) => l.server),
    report.nodes.map((n) => n.server),
    'the split has the lanes the single host has',
  );
  const shared = oneFile.records.filter((r) => r.type === 'idfa' || r.type === 'gaid').length;
  assert.equal(manifest.lanes[0]?.records, shared, "the shared node's segment holds both types' records");
});
