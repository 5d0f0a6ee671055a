/**
 * `memc-load where KEY… --idfa POOL` (issue #13): the node each key goes to, through the real bin,
 * against the nodes pylibmc put the same keys on (test/fixtures/pool-vectors.json), so an
 * operator can check that a deployment's readers agree with the loader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../helpers/cli.js';
import { DISTRIBUTION, poolVectors, type VectorCase } from '../../helpers/pool-vectors.js';

const cases = poolVectors();
/** `host:port` of a `host:port[:weight]` item, as `where` prints a node. */
const nodeLabel = (spec: string) => spec.replace(/^(\[[^\]]+\]:\d+|[^:]+:\d+):\d+$/, '$1');

test('where prints, for every key, the node pylibmc stored it on', async () => {
  // A bin per case, three at a time.
  const queue = [...cases];
  await Promise.all([0, 1, 2].map(async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) await checkCase(c);
  }));
});

async function checkCase(c: VectorCase): Promise<void> {
  // argv is UTF-8: the keys whose bytes are all ASCII are the ones a shell passes through unchanged.
  const picked = c.keys.map((k, i) => [k, i] as const).filter(([k]) => /^[\x21-\x7e]+$/.test(k));
  const pool = c.servers.join(',');
  const args = ['where', ...picked.map(([k]) => k), '--distribution', DISTRIBUTION[c.distribution]];
  for (const t of ['idfa', 'gaid', 'adid', 'dvid']) args.push(`--${t}`, pool);
  const run = await runCli(args);
  assert.equal(run.code, 0, run.stderr);
  const got = run.stdout.trimEnd().split('\n');
  const want = picked.map(([, i]) => nodeLabel(c.servers[c.nodeOf[i] as number] as string));
  assert.ok(picked.length > 300, c.name);
  assert.deepEqual(got, want, c.name);
}

test('where, one key: its node; the default distribution is the weighted ketama', async () => {
  const c = cases.find((x) => x.name === 'weighted, 5 nodes, weights 1 1 2 3 7') as VectorCase;
  const i = c.keys.findIndex((k) => k.startsWith('gaid:') && /^[\x21-\x7e]+$/.test(k));
  const run = await runCli(['where', c.keys[i] as string, '--gaid', c.servers.join(',')]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, `${nodeLabel(c.servers[c.nodeOf[i] as number] as string)}\n`);
});

test('where: a key of no device type, or no key at all, is a usage error (exit 2) that says what to give', async () => {
  const bad = await runCli(['where', 'user:42', '--idfa', '127.0.0.1:1,127.0.0.1:2']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^memc-load: where: "user:42" is not a key memc-load stores: it starts with idfa:, gaid:, adid:, dvid:/);
  const none = await runCli(['where', '--idfa', '127.0.0.1:1']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^memc-load: where: give a key, e\.g\. memc-load where idfa:/);
});
