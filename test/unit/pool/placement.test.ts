import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { md5Hash, md5Words } from '../../../src/pool/hash.js';
import { Placement } from '../../../src/pool/placement.js';
import { DISTRIBUTION, poolVectors } from '../../helpers/pool-vectors.js';

const vectors = { cases: poolVectors() };

/** `host:port[:weight]`, `[v6]:port[:weight]`, as pylibmc reads a server spec. */
function node(spec: string): { host: string; port: number; weight: number } {
  const m = /^(?:\[(.+)\]|([^:]+)):(\d+)(?::(\d+))?$/.exec(spec);
  if (m === null) throw new Error(`bad spec in the vectors: ${spec}`);
  return { host: m[1] ?? (m[2] as string), port: Number(m[3]), weight: Number(m[4] ?? 1) };
}

for (const c of vectors.cases) {
  test(`placement matches pylibmc: ${c.name} (${c.servers.join(',')})`, () => {
    const placement = new Placement(c.servers.map(node), DISTRIBUTION[c.distribution]);
    const wrong: string[] = [];
    c.keys.forEach((key, i) => {
      const got = placement.nodeOf(Buffer.from(key, 'latin1'));
      if (got !== c.nodeOf[i]) wrong.push(`${JSON.stringify(key)}: node ${got}, pylibmc ${c.nodeOf[i]}`);
    });
    assert.deepEqual(wrong, [], `${wrong.length} of ${c.keys.length} keys placed elsewhere than pylibmc placed them`);
  });
}

test('the vectors cover every distribution, weights, port 11211, a hostname and IPv6', () => {
  const all = vectors.cases.flatMap((c) => c.servers).join(',');
  for (const d of ['ketama_weighted', 'ketama', 'modula']) assert.ok(vectors.cases.some((c) => c.distribution === d), d);
  for (const n of [1, 2, 3, 5]) assert.ok(vectors.cases.some((c) => c.servers.length === n), `${n} nodes`);
  assert.match(all, /:11211\b/);
  assert.match(all, /localhost:/);
  assert.match(all, /\[::1\]:\d+:\d/);
});

test('md5Words and md5Hash agree with node:crypto on every length up to three blocks', () => {
  const out = new Uint32Array(4);
  for (let len = 0; len <= 200; len++) {
    const bytes = randomBytes(len + 7);
    const want = createHash('md5').update(bytes.subarray(3, 3 + len)).digest();
    md5Words(bytes, 3, 3 + len, out);
    assert.deepEqual([...out], [0, 1, 2, 3].map((k) => want.readUInt32LE(4 * k)), `length ${len}`);
    assert.equal(md5Hash(bytes, 3, 3 + len), want.readUInt32LE(0));
  }
});
