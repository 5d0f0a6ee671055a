import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeChunk } from '../../../src/pipeline/encode-chunk.js';
import { laneNodes } from '../../../src/pool/lanes.js';
import { Placement } from '../../../src/pool/placement.js';
import { parseServerPool } from '../../../src/config/options.js';
import { encodeSettings } from '../../helpers/encode.js';

/** `ms <key> …` frames of a lane, without its closing `mn`: [key, whole frame]. */
function frames(buf: Uint8Array | null): [string, string][] {
  if (buf === null) return [];
  const text = Buffer.from(buf).toString('latin1');
  assert.ok(text.endsWith('mn\r\n'), 'a lane ends with its fence');
  const out: [string, string][] = [];
  let p = 0;
  while (p < text.length - 4) {
    const head = text.indexOf('\r\n', p);
    const [, key, len] = text.slice(p, head).split(' ') as [string, string, string];
    const end = head + 2 + Number(len) + 2;
    out.push([key, text.slice(p, end)]);
    p = end;
  }
  return out;
}

test('a pooled type is split by key: each node gets its keys whole, in line order; a single server is unchanged (issue #13)', () => {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const type = ['idfa', 'gaid', 'adid', 'dvid'][i % 4];
    // Keys repeat: the same key's frames must stay in order on its node.
    lines.push(`${type}\tdev${(i * 7919) % 500}\t${i % 90}.5\t-${i % 170}.25\t${i},${i + 1}`);
  }
  const chunk = Buffer.from(lines.join('\n') + '\n');
  const single = encodeChunk(chunk, encodeSettings());
  const idfa = parseServerPool('10.0.0.1:11211,10.0.0.2:11211:3,[::1]:11211', 'test');
  const dvid = parseServerPool('10.0.0.4:11211,mc5:11212', 'test');
  const pools = [laneNodes(idfa), laneNodes(parseServerPool('a:1', 't')), laneNodes(parseServerPool('b:2', 't')), laneNodes(dvid)];
  for (const fast of [true, false]) {
    const pooled = encodeChunk(chunk, encodeSettings({ pools, distribution: 'ketama-weighted' }), fast);
    assert.equal(pooled.frames.length, 7, 'lanes: 3 + 1 + 1 + 2');
    // gaid and adid: one server each, the very bytes of the single-server run.
    assert.deepEqual(Buffer.from(pooled.frames[3]!), Buffer.from(single.frames[1]!));
    assert.deepEqual(Buffer.from(pooled.frames[4]!), Buffer.from(single.frames[2]!));
    for (const [type, base, nodes, pool] of [[0, 0, 3, idfa], [3, 5, 2, dvid]] as const) {
      const placement = new Placement(laneNodes(pool), 'ketama-weighted');
      const all = frames(single.frames[type]!);
      for (let n = 0; n < nodes; n++) {
        const want = all.filter(([key]) => placement.nodeOf(Buffer.from(key, 'latin1')) === n);
        assert.ok(want.length > 0);
        assert.deepEqual(frames(pooled.frames[base + n]!), want, `lane ${base + n}: its keys' frames, in line order`);
        assert.equal(pooled.records[base + n], want.length);
      }
    }
  }
});
