import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distance, suggest } from '../../../src/config/did-you-mean.js';

test('distance: edits and adjacent swaps, each costing one', () => {
  const cases: [string, string, number][] = [
    ['', '', 0],
    ['pattern', 'pattern', 0],
    ['patern', 'pattern', 1],
    ['wrokers', 'workers', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
    ['ca', 'abc', 3],
  ];
  for (const [a, b, d] of cases) {
    assert.equal(distance(a, b), d, `${a} → ${b}`);
    assert.equal(distance(b, a), d, `${b} → ${a}`);
  }
});

test('suggest: the closest name within a third of the word, underscores read as dashes', () => {
  const known = ['pattern', 'workers', 'max-error-rate', 'ttl', 'dry'];
  assert.equal(suggest('--patern', known), '; did you mean --pattern?');
  assert.equal(suggest('--workers=3', ['worker', 'workers']), '; did you mean --workers?');
  assert.equal(suggest('max_error_rate', known, '"'), '; did you mean "max-error-rate?');
  assert.equal(suggest('--tl', known), '; did you mean --ttl?');
  assert.equal(suggest('--xyz', known), '');
  assert.equal(suggest('--frobnicate', known), '');
});
