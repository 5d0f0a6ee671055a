import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { resolveOptions } from '../../../src/config/options.js';
import { describeLag, duration, fileTime, lagOf } from '../../../src/report/lag.js';
import { renderSummary, toJsonReport } from '../../../src/report/render.js';
import { summarize } from '../../../src/report/run-report.js';
import { repoRoot } from '../../helpers/paths.js';
import { settled, tallyOf } from '../../helpers/tally.js';

test('fileTime reads the 14-digit UTC timestamp of a pending or done name, and nothing from other names', () => {
  assert.equal(fileTime('/logs/20170929000000.tsv.gz'), Date.UTC(2017, 8, 29, 0, 0, 0));
  assert.equal(fileTime('/logs/.20170929235959.tsv.gz'), Date.UTC(2017, 8, 29, 23, 59, 59));
  assert.equal(fileTime('/logs/20170929000000-extra.tsv.gz'), Date.UTC(2017, 8, 29));
  for (const bad of ['/logs/apps.tsv.gz', '/logs/2017092900.tsv.gz', '/logs/20171329000000.tsv.gz', '/logs/20170931000000.tsv.gz', '/logs/20170929246000.tsv.gz', '/20170929000000/x.tsv.gz']) {
    assert.equal(fileTime(bad), null, bad);
  }
});

test('lagOf: the oldest pending and the newest done by the minutes in their names, whatever the order given', () => {
  const now = Date.UTC(2017, 8, 29, 0, 10, 0);
  const lag = lagOf(
    ['/b/20170929000500.tsv.gz', '/a/20170929000300.tsv.gz', '/a/notes.tsv.gz'],
    ['/a/.20170929000100.tsv.gz', '/b/.20170929000200.tsv.gz', '/a/.20170929000000.tsv.gz'],
    now,
  );
  assert.deepEqual(lag, {
    at: '2017-09-29T00:10:00.000Z',
    pending: 2,
    oldestPending: { file: '/a/20170929000300.tsv.gz', ageSeconds: 420 },
    newestDone: { file: '/b/.20170929000200.tsv.gz', ageSeconds: 480 },
    heldBack: 0,
  });
});

test('lagOf: nothing pending is no lag; no file done is null; a name in the future is 0 s old, not negative', () => {
  const now = Date.UTC(2017, 8, 29, 0, 0, 0);
  assert.deepEqual(lagOf([], [], now), { at: '2017-09-29T00:00:00.000Z', pending: 0, oldestPending: null, newestDone: null, heldBack: 0 });
  assert.deepEqual(lagOf(['/l/20170929000100.tsv.gz'], [], now).oldestPending, { file: '/l/20170929000100.tsv.gz', ageSeconds: 0 });
});

test('describeLag and duration: one line for people, two largest units', () => {
  assert.equal(duration(0), '0s');
  assert.equal(duration(59), '59s');
  assert.equal(duration(61), '1m 1s');
  assert.equal(duration(3600), '1h');
  assert.equal(duration(3 * 86400 + 4 * 3600 + 59), '3d 4h');
  const now = Date.UTC(2017, 8, 29, 0, 10, 0);
  assert.equal(
    describeLag(lagOf(['/l/20170929000300.tsv.gz', '/l/20170929000400.tsv.gz'], ['/l/.20170929000200.tsv.gz'], now)),
    'oldest pending 20170929000300.tsv.gz, 7m old (2 pending); newest done 20170929000200.tsv.gz, 8m old',
  );
  assert.equal(describeLag(lagOf([], [], now)), 'nothing pending; no file done yet');
  // A late file waits for the operator: not lag, but never "nothing pending" without a word.
  assert.equal(
    describeLag(lagOf([], ['/l/.20170929000200.tsv.gz'], now, 1)),
    'nothing pending (1 more held back for the operator: late or unreadable); newest done 20170929000200.tsv.gz, 8m old',
  );
});

test('the run report carries the lag: in the JSON report (schema-checked) and under the summary table, wrapped to the terminal', () => {
  const opts = resolveOptions({ pattern: '/logs/*.tsv.gz' });
  const file = tallyOf('/logs/20170929000000.tsv.gz', 0, 10, {}, [settled('127.0.0.1:33013', { loaded: 10 })]).report(0.01, true);
  const lag = lagOf(['/logs/20170929000300.tsv.gz'], ['/logs/.20170929000000.tsv.gz'], Date.UTC(2017, 8, 29, 1, 0, 0));
  const report = { ...summarize([file], opts, performance.now()), lag };
  const ajv = new Ajv.default({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(join(repoRoot(), 'docs/report.schema.json'), 'utf8')));
  const json = JSON.parse(JSON.stringify(toJsonReport(report, opts, '9.9.9', 0))) as { lag: { oldestPending: unknown } };
  assert.ok(validate(json), JSON.stringify(validate.errors));
  assert.deepEqual(json.lag.oldestPending, { file: '/logs/20170929000300.tsv.gz', ageSeconds: 3420 });
  assert.equal(validate({ ...json, lag: { ...json.lag, oldestPending: { file: 'x', ageSeconds: -1 } } }), false, 'the schema checks the lag');
  assert.ok(validate({ ...json, lag: null }), 'null when the folder could not be read');
  const wide = renderSummary(report);
  assert.match(wide, /\nlag: oldest pending 20170929000300\.tsv\.gz, 57m old \(1 pending\); newest done 20170929000000\.tsv\.gz, 1h old\n$/);
  const narrow = renderSummary(report, 40);
  assert.ok(narrow.split('\n').every((l) => l.length <= 40), narrow);
  assert.match(narrow.replace(/\n/g, ' '), /lag: oldest pending 20170929000300\.tsv\.gz, 57m old/);
  assert.doesNotMatch(renderSummary({ ...report, lag: null }), /lag:/);
});
