import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { resolveOptions } from '../../../src/config/options.js';
import { renderSummary, toJsonReport } from '../../../src/report/render.js';
import { summarize } from '../../../src/report/run-report.js';
import { repoRoot } from '../../helpers/paths.js';
import { settled, tallyOf } from '../../helpers/tally.js';

function sampleReport() {
  const a = tallyOf('/logs/20170929000000.tsv.gz', 0, 1000, { geo: 7, fields: 3 }, [settled('127.0.0.1:33013', { loaded: 990 })]);
  const b = tallyOf('/logs/20170929000100.tsv.gz', 1, 500, {}, [
    settled('127.0.0.1:33014', { loaded: 480 }),
    settled('127.0.0.1:33014', { failed: 20, error: new Error('gave up on memcached 127.0.0.1:33014') }),
  ]);
  const opts = resolveOptions({ pattern: '/logs/*.tsv.gz' });
  return { opts, report: summarize([a.report(0.01, true), b.report(0.01, false)], opts, performance.now()) };
}

test('the summary table has a row per file and a totals row', () => {
  const text = renderSummary(sampleReport().report);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 6, text);
  assert.match(lines[0] as string, /^file\s+lines\s+loaded\s+rejected\s+by reason\s+failed writes\s+error rate\s+time\s+lines\/s\s+renamed\s+outcome$/);
  assert.match(lines[2] as string, /^20170929000000\.tsv\.gz\s+1000\s+990\s+10\s+fields=3 geo=7\s+0\s+1\.00%.*yes\s+FAILED data$/);
  assert.match(lines[3] as string, /^20170929000100\.tsv\.gz\s+500\s+480\s+0\s+-\s+20\s+4\.00%.*no\s+FAILED load$/);
  assert.match(lines[5] as string, /^total \(2 files\)\s+1500\s+1470\s+10\s+fields=3 geo=7\s+20\s+2\.00%.*1\/2\s+2 FAILED$/);
});

test('the JSON report validates against docs/report.schema.json', () => {
  const { opts, report } = sampleReport();
  const json = JSON.parse(JSON.stringify(toJsonReport(report, opts, '9.9.9', 1))) as { schemaVersion: number; files: { outcome: string }[] };
  const schema = JSON.parse(readFileSync(join(repoRoot(), 'docs/report.schema.json'), 'utf8'));
  const ajv = new Ajv.default({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  assert.ok(validate({ ...json }), JSON.stringify(validate.errors));
  assert.equal(json.schemaVersion, 1);
  assert.equal(json.files[1].outcome, 'failed_load');
  // The schema is not vacuous: a report missing a field or with a wrong outcome fails.
  assert.equal(validate({ ...json, totals: undefined }), false);
  assert.equal(validate({ ...json, files: [{ ...json.files[0], outcome: 'fine' }] }), false);
});

test('the run totals add up the evictions of every file, by server', () => {
  const opts = resolveOptions({ pattern: '/logs/*.tsv.gz' });
  const a = tallyOf('/logs/20170929000000.tsv.gz', 0, 10, {}, [settled('127.0.0.1:33016', { loaded: 10 })]);
  const b = tallyOf('/logs/20170929000100.tsv.gz', 1, 10, {}, [settled('127.0.0.1:33016', { loaded: 10 })]);
  a.noteLoss('127.0.0.1:33016', 7, 0);
  b.noteLoss('127.0.0.1:33016', 5, 0);
  b.noteLoss('127.0.0.1:33013', 2, 3);
  const { totals } = summarize([a.report(0.01, true), b.report(0.01, true)], opts, performance.now());
  assert.deepEqual(totals.evictions, { '127.0.0.1:33016': 12, '127.0.0.1:33013': 2 });
  assert.equal(totals.evictionsTotal, 14);
});

/** A run with long reason lists and wide numbers: the widest table the data makes. */
function wideReport() {
  const opts = resolveOptions({ pattern: '/logs/*.tsv.gz' });
  const rejected = { too_long: 1, fields: 51230, empty: 3, type: 6, key: 2, geo: 2 };
  const files = ['20170929000000', '20170929000100', '20170929000200'].map((n, i) =>
    tallyOf(`/logs/${n}.tsv.gz`, i, 3_412_345, i === 1 ? rejected : { geo: 17 }, [
      settled('127.0.0.1:33013', { loaded: 1_700_000 }),
      settled('127.0.0.1:33016', i === 2 ? { failed: 1_700_000 - 17, error: new Error('gave up') } : { loaded: 1_700_000 - 17 }),
    ]).report(0.01, i === 0),
  );
  return summarize(files, opts, performance.now() - 123_456);
}

for (const columns of [80, 120, 200]) {
  test(`the summary fits a terminal of ${columns} columns and keeps the key figures`, () => {
    const report = wideReport();
    const text = renderSummary(report, columns);
    const lines = text.trimEnd().split('\n');
    for (const l of lines) assert.ok(l.length <= columns, `${l.length} > ${columns}: ${l}`);
    for (const f of report.files) {
      const name = f.path.slice('/logs/'.length);
      const row = text.slice(text.indexOf(name));
      assert.ok(text.includes(name), name);
      assert.match(row, new RegExp(`\\b${f.lines}\\b`));
      assert.match(row, new RegExp(`${(f.errorRate * 100).toFixed(2)}%`));
    }
    assert.match(text, /FAILED load/);
    assert.match(text, /FAILED data/);
    assert.match(text, /total \(3 files\)/);
    assert.match(text, new RegExp(`\\b${report.totals.lines}\\b`));
    assert.match(text, /2 FAILED/);
  });
}

test('a wide terminal, or no width given, gets the full table; a narrow one a block per file', () => {
  const report = wideReport();
  const full = renderSummary(report);
  assert.equal(renderSummary(report, 400), full);
  assert.match(full.split('\n')[0] as string, /^file\s+lines\s+loaded\s+rejected\s+by reason\s+failed writes\s+error rate\s+time\s+lines\/s\s+renamed\s+outcome$/);
  const narrow = renderSummary(report, 80);
  assert.doesNotMatch(narrow, /^file\s+lines/);
  assert.match(narrow, /^20170929000100\.tsv\.gz: FAILED data, renamed no\n {2}lines 3412345 {2}loaded \d+\n {2}rejected 51244 \(too_long=1 fields=51230 empty=3 type=6 key=2 geo=2\)\n/m);
  // Very narrow: still nothing past the edge.
  for (const l of renderSummary(report, 30).trimEnd().split('\n')) assert.ok(l.length <= 30, l);
});

test('per-node figures: the JSON report carries them (schema-checked), and the node table shows them (issue #13)', async () => {
  const { NodeTally } = await import('../../../src/report/node-tally.js');
  const { renderNodes } = await import('../../../src/report/render-nodes.js');
  const opts = resolveOptions({ pattern: '/logs/*.tsv.gz', servers: { idfa: '10.0.0.1:11211,10.0.0.2:11211:2' } });
  const nodes = new NodeTally([
    { server: '10.0.0.1:11211', type: 'idfa' },
    { server: '10.0.0.2:11211', type: 'idfa' },
    { server: '127.0.0.1:33014', type: 'gaid' },
  ]);
  nodes.batchSettled({ ...settled('10.0.0.1:11211', { loaded: 300 }), latencySeconds: 0.004 });
  nodes.batchSettled({ ...settled('10.0.0.1:11211', { loaded: 100 }), latencySeconds: 0.002 });
  nodes.batchSettled(settled('10.0.0.2:11211', { failed: 50, error: new Error('gave up on memcached 10.0.0.2:11211') }));
  const file = tallyOf('/logs/20170929000000.tsv.gz', 0, 450, {}, []).report(0.01, false);
  const report = summarize([{ ...file, evictions: { '10.0.0.1:11211': 7 } }], opts, performance.now(), false, nodes.figures([{ ...file, evictions: { '10.0.0.1:11211': 7 } }]));
  assert.deepEqual(report.nodes[0], {
    server: '10.0.0.1:11211', types: ['idfa'], records: 400, loaded: 400, failedWrites: 0, evictions: 7, storeNoMemory: 0, batches: 2,
    batchLatencySeconds: { mean: 0.003, max: 0.004 },
  });
  assert.deepEqual([report.nodes[1]?.failedWrites, report.nodes[1]?.loaded, report.nodes[1]?.batchLatencySeconds], [50, 0, null]);
  assert.equal(report.nodes[2]?.batches, 0);

  const json = JSON.parse(JSON.stringify(toJsonReport(report, opts, '9.9.9', 1))) as { nodes: unknown[]; options: { distribution: string } };
  const ajv = new Ajv.default({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot(), 'docs/report.schema.json'), 'utf8')));
  assert.ok(validate(json), JSON.stringify(validate.errors));
  assert.equal(json.options.distribution, 'ketama-weighted');
  assert.equal(validate({ ...json, nodes: [{ ...(json.nodes[0] as object), server: undefined }] }), false);

  const lines = renderNodes(report).trimEnd().split('\n');
  assert.match(lines[0] as string, /^node\s+types\s+records\s+loaded\s+failed writes\s+evictions\s+batches\s+latency mean\s+latency max$/);
  assert.match(lines[2] as string, /^10\.0\.0\.1:11211\s+idfa\s+400\s+400\s+0\s+7\s+2\s+3\.0ms\s+4\.0ms$/);
  assert.match(lines[3] as string, /^10\.0\.0\.2:11211\s+idfa\s+50\s+0\s+50\s+0\s+1\s+-\s+-$/);
  // A narrow terminal gets one block per node, nothing past its edge, every figure kept.
  const narrow = renderNodes(report, 40);
  for (const l of narrow.trimEnd().split('\n')) assert.ok(l.length <= 40, `${l.length} > 40: ${l}`);
  assert.match(narrow, /^10\.0\.0\.1:11211 \(idfa\)\n {2}records 400 {2}loaded 400\n/m);
  assert.match(narrow, /latency max 4\.0ms/);
});
