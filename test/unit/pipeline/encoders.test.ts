/**
 * Encoder threads kept between files (pipeline/encoders.ts `WorkerPool.open(…, keep)`, issue #19
 * item 4): a pool closed with no chunk in hand is parked and the next open with the same size and
 * settings takes it, with its replies going to the new owner only; a pool closed with a chunk in
 * hand, or opened without `keep`, is never taken again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChunkResult } from '../../../src/pipeline/chunk-types.js';
import { InlineEncoder, WorkerPool } from '../../../src/pipeline/encoders.js';
import { encodeSettings } from '../../helpers/encode.js';

const LABELS = ['10.0.0.1:1', '10.0.0.2:2', '10.0.0.3:3', '10.0.0.4:4'];
const line = (n: number) => `idfa\t${n.toString(16).padStart(32, '0')}\t55.5\t42.25\t1,2,3\n`;
/** A chunk in memory of its own: it is transferred to the thread (Node's shared pool cannot be). */
const chunk = (text: string) => {
  const b = Buffer.alloc(Buffer.byteLength(text));
  b.write(text);
  return b;
};

/** Opens a pool whose replies are collected; `next()` waits for the next one. */
function opened(keep: boolean, settings = encodeSettings({ serverLabels: LABELS })) {
  const got: { seq: number; result: ChunkResult }[] = [];
  const errors: Error[] = [];
  let wake = () => {};
  const pool = WorkerPool.open(1, settings, (seq, result) => (got.push({ seq, result }), wake()), (e) => errors.push(e), keep);
  const next = async (n: number) => {
    while (got.length < n) await new Promise<void>((r) => (wake = r));
    return got;
  };
  return { pool, got, errors, next };
}

test('a pool closed idle is parked, and the next open of the same settings takes it; replies go to the new owner', async () => {
  const a = opened(true);
  a.pool.submit(0, chunk(line(1)));
  await a.next(1);
  await a.pool.close();
  const b = opened(true);
  assert.equal(b.pool, a.pool, 'the parked pool, its threads already started');
  b.pool.submit(7, chunk(line(2) + line(3)));
  const [r] = await b.next(1);
  assert.equal(r?.seq, 7);
  assert.deepEqual(r?.result.records, [2, 0, 0, 0]);
  assert.equal(a.got.length, 1, 'nothing reached the first owner after it closed');
  const other = opened(true, encodeSettings({ serverLabels: LABELS, ttl: 60 }));
  assert.notEqual(other.pool, b.pool, 'other settings: a pool of its own');
  await Promise.all([b.pool.close(), other.pool.close()]);
  assert.deepEqual([...a.errors, ...b.errors, ...other.errors], []);
});

test('a pool closed with a chunk in hand, or opened without keep, is never taken again', async () => {
  const busy = opened(true, encodeSettings({ serverLabels: LABELS, ttl: 5 }));
  busy.pool.submit(0, chunk(line(1).repeat(2000)));
  await busy.pool.close(); // before its reply: a late reply must not reach the next file's owner
  const after = opened(true, encodeSettings({ serverLabels: LABELS, ttl: 5 }));
  assert.notEqual(after.pool, busy.pool);
  const plain = opened(false, encodeSettings({ serverLabels: LABELS, ttl: 6 }));
  await plain.pool.close();
  const again = opened(true, encodeSettings({ serverLabels: LABELS, ttl: 6 }));
  assert.notEqual(again.pool, plain.pool);
  await Promise.all([after.pool.close(), again.pool.close()]);
});

test('a chunk submitted without sampling describes no rejected line, and counts the same (both encoders)', async () => {
  const text = line(1) + 'idfa\tonly-three\tfields\n' + line(2) + 'gaid\tx\t1\t2\t3,a\n';
  const settings = encodeSettings({ serverLabels: LABELS, maxSamples: 10 });
  const inline: ChunkResult[] = [];
  const enc = new InlineEncoder(settings, (_seq, result) => inline.push(result));
  enc.submit(0, chunk(text), true);
  enc.submit(1, chunk(text), false);
  const p = opened(false, settings);
  p.pool.submit(0, chunk(text), true);
  p.pool.submit(1, chunk(text), false);
  const pooled = (await p.next(2)).sort((a, b) => a.seq - b.seq).map((g) => g.result);
  await p.pool.close();
  for (const [name, [sampled, quiet]] of [['inline', inline], ['worker', pooled]] as const) {
    assert.deepEqual(sampled?.samples.map((s) => [s.line, s.reason]), [[2, 'fields'], [4, 'apps']], `${name}: sampled`);
    assert.deepEqual(quiet?.samples, [], `${name}: not sampled`);
    for (const k of ['lines', 'nonBlank', 'records', 'rejected', 'appWarnings'] as const) assert.deepEqual(quiet?.[k], sampled?.[k], `${name}: ${k}`);
  }
});
