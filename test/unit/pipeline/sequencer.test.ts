import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Sequencer } from '../../../src/pipeline/sequencer.js';

test('releases entries strictly in sequence order, whatever order they arrive in', () => {
  fc.assert(
    fc.property(fc.shuffledSubarray([...Array(50).keys()], { minLength: 50, maxLength: 50 }), (order) => {
      const out: number[] = [];
      const s = new Sequencer<number>((e) => out.push(e));
      for (const seq of order) s.put(seq, seq * 10);
      assert.deepEqual(out, [...Array(50).keys()].map((i) => i * 10));
      assert.equal(s.waiting, 0);
    }),
  );
});

test('holds entries behind a gap until the gap is filled', () => {
  const out: string[] = [];
  const s = new Sequencer<string>((e) => out.push(e));
  s.put(1, 'b');
  s.put(2, 'c');
  assert.deepEqual(out, []);
  assert.equal(s.waiting, 2);
  s.put(0, 'a');
  assert.deepEqual(out, ['a', 'b', 'c']);
});
