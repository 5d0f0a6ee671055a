/**
 * The same data into four pools of two nodes (8 memcached) and into four single servers leaves the
 * same value under every key (issue #13): splitting a type's frames by node keeps each key's
 * lines in order, so the last line wins in a pool as it does on one server.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { stats } from '../../../src/memcached/admin.js';
import { readValues } from '../../helpers/check.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, TYPES } from '../../helpers/oracle.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-pool-eq-');
before(async () => {
  // Keys repeat within and across files, so a key's lines reach its node in several batches.
  await generateLogs({ dir: scratch.dataset, files: 3, lines: 6000, seed: 23, repeatRate: 0.5, badRate: 0.002, keyPool: 800 });
});
after(async () => {
  await stopAll();
  scratch.remove();
});

test('four pools of two nodes hold exactly what four single servers hold', async () => {
  const singles = await startServers(4);
  const nodes = await startServers(8);
  try {
    const expected = expectFrom(pendingFiles(scratch.dataset));
    const single = await runCli(['--pattern', join(scratch.copy('single'), '*.tsv.gz'), '--workers', '0', ...serverArgs(singles.map((s) => s.address.label))]);
    assert.equal(single.code, 0, single.stderr);
    const pools = TYPES.map((_, i) => `${nodes[2 * i]!.address.label},${nodes[2 * i + 1]!.address.label}`);
    const pooled = await runCli(['--pattern', join(scratch.copy('pooled'), '*.tsv.gz'), '--workers', '2', '--batch-bytes', '8192', ...serverArgs(pools)]);
    assert.equal(pooled.code, 0, pooled.stderr);

    for (const [i, t] of TYPES.entries()) {
      const keys = [...expected.byType[t]!.keys()];
      const onSingle = await readValues(singles[i]!.address, keys);
      const onNodes = await Promise.all([nodes[2 * i]!, nodes[2 * i + 1]!].map((n) => readValues(n.address, keys)));
      let differ = 0;
      let twice = 0;
      for (const [j, key] of keys.entries()) {
        const [a, b] = [onNodes[0]![j], onNodes[1]![j]];
        if (a && b) twice++;
        const inPool = a ?? b;
        if (!inPool || !onSingle[j] || !inPool.equals(onSingle[j]!) || !inPool.equals(expected.byType[t]!.get(key)!)) differ++;
      }
      assert.equal(differ, 0, `${t}: ${differ} of ${keys.length} keys differ between the pool and the single server`);
      assert.equal(twice, 0, `${t}: keys on both nodes`);
      const counts = await Promise.all([nodes[2 * i]!, nodes[2 * i + 1]!, singles[i]!].map(async (s) => Number((await stats(s.address))['curr_items'])));
      assert.equal(counts[0]! + counts[1]!, counts[2], `${t}: the pool holds as many items as the single server`);
      assert.ok(counts[0]! > 0 && counts[1]! > 0, `${t}: both nodes hold keys (${counts[0]}+${counts[1]})`);
    }
  } finally {
    await Promise.all([...singles, ...nodes].map((s) => s.stop()));
  }
});
