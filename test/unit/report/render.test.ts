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
