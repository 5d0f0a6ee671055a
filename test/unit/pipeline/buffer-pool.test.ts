import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../../../src/pipeline/buffer-pool.js';

test('take gives exactly n bytes at offset 0 of an ArrayBuffer of its own, with room to spare', () => {
  const pool = new BufferPool(4, 1024);
  const small = pool.take(10);
  assert.equal(small.length, 10);
  assert.equal(small.byteOffset, 0);
  assert.equal(small.buffer.byteLength, 1024, 'never below the minimum size');
  const big = pool.take(4000);
  assert.equal(big.length, 4000);
  assert.equal(big.buffer.byteLength, 5000, 'a quarter more than asked');
});

test('a buffer given back is taken again when it is large enough, and only then', () => {
  const pool = new BufferPool(4, 1024);
  const a = pool.take(1000);
  pool.give(a.buffer as ArrayBuffer);
  assert.equal(pool.size, 1);
  const tooBig = pool.take(2000);
  assert.notEqual(tooBig.buffer, a.buffer);
  assert.equal(pool.size, 1, 'the small buffer stays for a later request');
  const again = pool.take(1024);
  assert.equal(again.buffer, a.buffer);
  assert.equal(again.length, 1024);
  assert.equal(pool.size, 0);
});

test('the pool keeps at most max buffers, and ignores detached ones', () => {
  const pool = new BufferPool(2, 16);
  for (let i = 0; i < 5; i++) pool.give(new ArrayBuffer(64));
  assert.equal(pool.size, 2);
  const detached = new ArrayBuffer(64);
  structuredClone(detached, { transfer: [detached] });
  assert.equal(detached.byteLength, 0);
  const empty = new BufferPool(2, 16);
  empty.give(detached);
  assert.equal(empty.size, 0);
});
