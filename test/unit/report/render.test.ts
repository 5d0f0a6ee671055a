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
});
