import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickMedian, type Sample } from '../../../bench/lib/sample.js';

const run = (wallS: number, cpuS: number | null, peakRssMb: number): Sample => ({
  wallS,
  cpuS,
  serverCpuS: 1,
  serverLruCpuS: null,
  peakRssMb,
  check: null,
  problems: [],
  load1: 0,
  othersCores: 0,
  idleCoreS: 0,
  mainWaitS: null,
});

test('several runs: the wall and the CPU are each their own median; RSS is the median-wall run\'s', () => {
  // The median-wall run (5.0 s) had the highest CPU: its CPU is not the row's.
  const p = pickMedian([run(4.0, 3.0, 80), run(5.0, 4.5, 90), run(6.0, 3.2, 85)]);
  assert.equal(p.best.wallS, 5.0);
  assert.equal(p.best.cpuS, 3.2);
  assert.equal(p.best.peakRssMb, 90);
  assert.deepEqual(p.range, [4.0, 6.0]);
});

test('a run without a CPU figure: the median-wall run\'s CPU, as before', () => {
  const p = pickMedian([run(4.0, null, 80), run(5.0, 4.5, 90), run(6.0, 3.2, 85)]);
  assert.equal(p.best.cpuS, 4.5);
});

test('one run: its own figures, no range', () => {
  const p = pickMedian([run(4.0, 3.0, 80)]);
  assert.deepEqual([p.best.wallS, p.best.cpuS, p.range], [4.0, 3.0, null]);
});
