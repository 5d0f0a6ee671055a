import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { render } from '../../../bench/doc.js';
import { rowName } from '../../../bench/lib/before-after.js';
import { clusterHeadline, clusterRowName, clusterWorkersOf } from '../../../bench/lib/cluster-rows.js';
import type { BenchResult, Row } from '../../../bench/lib/report.js';
import { repoRoot } from '../../helpers/paths.js';

const latest = (): BenchResult => JSON.parse(readFileSync(join(repoRoot(), 'bench', 'results', 'latest.json'), 'utf8')) as BenchResult;
const base = (): Row => latest().rows.find((r) => r.name === 'memc-load (default)') as Row;
const row = (name: string, cpuVsDefault: number | null): Row => ({ ...base(), name, cpuVsDefault });

test('a cluster row is named by its worker processes, and the name reads back', () => {
  assert.equal(clusterRowName(1), 'memc-load cluster: enqueue + 1 worker, 1 host');
  assert.equal(clusterRowName(2), 'memc-load cluster: enqueue + 2 workers, 1 host');
  assert.equal(rowName('cluster', 1), clusterRowName(1));
  for (const n of [1, 2, 12]) assert.equal(clusterWorkersOf({ name: clusterRowName(n) }), n);
  assert.equal(clusterWorkersOf({ name: 'memc-load (default)' }), null);
  assert.equal(clusterWorkersOf({ name: 'memc-load cluster: enqueue + 2 workers, 3 hosts' }), null);
});

test('the headline judges the 1-worker row whatever the order, and shows the 2-worker row beside it as informational', () => {
  const rows = [base(), row(clusterRowName(2), 1.53), row(clusterRowName(1), 1.27)];
  const text = clusterHeadline(rows) as string;
  assert.match(text, /^the cluster on this host \(`enqueue` \+ 1 worker process, the production shape: one per host\) spends \*\*1\.27 × the single host's CPU\*\* \(target ≤ 1\.3\); 1\.53 × with 2 worker processes on the host \(informational/);
  assert.doesNotMatch(text, /1\.53 × the single host's CPU\*\*/);
});

test('without a 1-worker row the headline gives the ratio and says the target is not judged', () => {
  const text = clusterHeadline([base(), row(clusterRowName(2), 2.06)]) as string;
  assert.match(text, /^the cluster on this host spends 2\.06 × the single host's CPU with 2 worker processes \(no row of 1 worker process, the production shape: the target, ≤ 1\.3 ×, is not judged\)$/);
  assert.doesNotMatch(text, /\*\*/);
});

test('no cluster row, or none with a ratio: no cluster part in the headline', () => {
  assert.equal(clusterHeadline([base()]), null);
  assert.equal(clusterHeadline([base(), row(clusterRowName(1), null)]), null);
});

test('the rendered page carries both rows and the judged ratio in its headline', () => {
  const r = latest();
  const rows = [...r.rows.filter((x) => clusterWorkersOf(x) === null), row(clusterRowName(1), 1.18), row(clusterRowName(2), 1.49)];
  const md = render({ ...r, rows }, 'the log');
  const headline = md.slice(0, md.indexOf('\n|'));
  assert.match(headline, /spends \*\*1\.18 × the single host's CPU\*\* \(target ≤ 1\.3\); 1\.49 × with 2 worker processes/);
  assert.match(md, /\n\| memc-load cluster: enqueue \+ 1 worker, 1 host \| /);
  assert.match(md, /\n\| memc-load cluster: enqueue \+ 2 workers, 1 host \| /);
});
