/** What a lane is (pool/lanes.ts), the one definition both modes use: one memcached node. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveOptions } from '../../../src/config/options.js';
import { DEVICE_TYPES } from '../../../src/config/servers.js';
import { laneAddresses, laneLayout, laneNodes, runLanes } from '../../../src/pool/lanes.js';

const pools = (servers: Record<string, string>) => {
  const o = resolveOptions({ servers });
  return DEVICE_TYPES.map((t) => o.servers[t]);
};

test('runLanes: one lane per node, positions (pools end to end) mapped onto them', () => {
  const p = pools({ idfa: 'a:1,b:1', gaid: 'c:1', adid: 'd:1', dvid: 'e:1' });
  const { lanes, laneOf } = runLanes(p);
  assert.deepEqual(lanes.map((l) => l.label), ['a:1', 'b:1', 'c:1', 'd:1', 'e:1']);
  assert.deepEqual(laneOf, [0, 1, 2, 3, 4], 'no node listed twice: positions are lanes');
  assert.equal(laneLayout(p.map(laneNodes), 'ketama-weighted').positions, 5);
});

test('runLanes: a node listed for two types is one lane, its positions both map onto it', () => {
  const p = pools({ idfa: 'a:1,b:1', gaid: 'b:1', adid: 'a:1', dvid: 'e:1' });
  const { lanes, laneOf } = runLanes(p);
  assert.deepEqual(lanes.map((l) => l.label), ['a:1', 'b:1', 'e:1']);
  assert.deepEqual(laneOf, [0, 1, 1, 0, 2]);
  assert.deepEqual(laneAddresses(p).map((l) => l.label), ['a:1', 'b:1', 'e:1'], 'what the single host opens a connection to');
  assert.equal(laneLayout(p.map(laneNodes), 'ketama-weighted').positions, 5, 'the encoders still write one buffer per position');
});
