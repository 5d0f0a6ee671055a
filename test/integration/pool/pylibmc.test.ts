/**
 * Pools end to end (issue #13): memc-load loads into a pool per device type, and pylibmc, a
 * reader on libmemcached configured as the distribution says, finds every key with the bytes
 * the oracle expects; each node holds exactly the keys pylibmc places on it, nothing twice.
 * Pools of 5, 3, 2 and 1 nodes, with weights, an IPv6 node and a hostname.
 */
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { doneFiles } from '../../helpers/check.js';
import { runCli } from '../../helpers/cli.js';
import { stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, TYPES } from '../../helpers/oracle.js';
import { assertPoolsHold, poolArgs, pylibmcMissing, startPool, type NodePlan, type StartedPool } from '../../helpers/pools.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-pool-');
before(async () => {
  await generateLogs({ dir: scratch.dataset, files: 3, lines: 3000, seed: 13, repeatRate: 0.3, badRate: 0.002, keyPool: 1500 });
});
after(async () => {
  await stopAll();
  scratch.remove();
});

/** idfa: 5 nodes, gaid: 3, adid: 2, dvid: 1. */
const PLAN: readonly (readonly NodePlan[])[] = [
  [{ weight: 1 }, { host: '::1', weight: 3 }, { host: 'localhost' }, { weight: 2 }, {}],
  [{}, { host: '::1' }, {}],
  [{ weight: 1 }, { weight: 4 }],
  [{}],
];

const DISTRIBUTIONS = [
  { flag: null, name: 'ketama-weighted (the default)', behaviors: { ketama_weighted: true } },
  { flag: 'ketama', name: 'ketama', behaviors: { ketama: true } },
  { flag: 'modula', name: 'modula', behaviors: {} },
] as const;

const skip = pylibmcMissing();

for (const d of DISTRIBUTIONS) {
  describe(`pools, ${d.name}`, { skip }, () => {
    test('pylibmc reads every key memc-load stored, each from the node it places it on', async () => {
      const pools: StartedPool[] = await Promise.all(PLAN.map((plan) => startPool(plan)));
      try {
        const dir = scratch.copy(`run-${d.flag ?? 'default'}`);
        const files = pendingFiles(dir);
        const expected = expectFrom(files);
        const dist = d.flag === null ? [] : ['--distribution', d.flag];
        const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--workers', '2', '--batch-bytes', '16384', ...dist, ...poolArgs(pools)]);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));

        for (const t of TYPES) assert.ok(expected.byType[t]!.size > 300, `${t}: enough keys to reach every node`);
        const seen = await assertPoolsHold(pools, expected, d.behaviors);

        // --dry names each record's node: the one that holds its key.
        const dry = await runCli(['--pattern', join(scratch.dataset, '*.tsv.gz'), '--dry', ...dist, ...poolArgs(pools)]);
        assert.equal(dry.code, 0, dry.stderr);
        const nodeOfKey = new Map<string, string>();
        for (const [i, t] of TYPES.entries()) {
          seen[t]!.holders.forEach((keysHeld, n) => keysHeld.forEach((k) => nodeOfKey.set(k, (pools[i] as StartedPool).labels[n] as string)));
        }
        const dryWrong = Buffer.from(dry.stdout, 'latin1')
          .toString('latin1')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.split('\t'))
          .filter(([server, key]) => nodeOfKey.get(key as string) !== server);
        assert.deepEqual(dryWrong.slice(0, 3), [], '--dry prints the node each key goes to');
      } finally {
        await Promise.all(pools.flatMap((p) => p.servers.map((s) => s.stop())));
      }
    });
  });
}
