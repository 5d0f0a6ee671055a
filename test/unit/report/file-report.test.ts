import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FileTally } from '../../../src/report/file-tally.js';
import { settled, tallyOf } from '../../helpers/tally.js';

function tally(lines: number, rejected: number, failed: number, errors: string[] = []): FileTally {
  const t = tallyOf('/x/20170929000000.tsv.gz', 0, lines, { fields: rejected }, failed > 0 ? [settled('127.0.0.1:1', { failed })] : []);
  for (const e of errors) t.addError(e);
  return t;
}

test('SPEC outcome table', () => {
  assert.equal(tally(1000, 9, 0).report(0.01, false).outcome, 'succeeded');
  assert.equal(tally(1000, 10, 0).report(0.01, false).outcome, 'failed_data', 'rate equal to the threshold fails');
  assert.equal(tally(1000, 0, 1).report(0.01, false).outcome, 'failed_load', 'any failed write fails the load');
  assert.equal(tally(1000, 0, 0, ['gzip broke']).report(0.01, false).outcome, 'failed_load');
  assert.equal(tally(0, 0, 0).report(0.01, false).outcome, 'succeeded', 'an empty file succeeds');
  assert.equal(tally(10, 0, 0).report(0, false).outcome, 'succeeded', 'no error succeeds even at threshold 0');
  assert.equal(tally(10, 1, 0).report(0, false).outcome, 'failed_data');
  assert.equal(tally(1000, 10, 0).outcome(0.01), 'failed_data', 'outcome() is the report\'s outcome');
});

test('error rate counts rejected lines and failed writes over non-blank lines', () => {
  const r = tally(200, 3, 1).report(0.5, false);
  assert.equal(r.errorRate, 4 / 200);
  assert.equal(r.rejectedTotal, 3);
  assert.deepEqual(r.failedWrites, { '127.0.0.1:1': 1 });
});

test('failed writes are counted by reason; refusals are explained once per server and reason', () => {
  const oom = 'SERVER_ERROR out of memory storing object';
  const t = tallyOf('/x/20170929000000.tsv.gz', 0, 100, {}, [
    settled('a:1', { failed: 3, failedByReason: { [oom]: 3 } }),
    settled('a:1', { failed: 2, failedByReason: { [oom]: 1, NS: 1 } }),
    settled('b:2', { failed: 4, failedByReason: { MCL_ERR_SERVER_GONE: 4 }, error: new Error('gave up on memcached b:2') }),
  ]);
  t.noteLoss('a:1', 7, 0);
  const r = t.report(0.5, false);
  assert.equal(r.outcome, 'failed_load');
  assert.deepEqual(r.failedWrites, { 'a:1': 5, 'b:2': 4 });
  assert.deepEqual(r.failedWritesByReason, { [oom]: 4, NS: 1, MCL_ERR_SERVER_GONE: 4 });
  assert.deepEqual(r.evictions, { 'a:1': 7 });
  assert.equal(r.error, `gave up on memcached b:2; 4 write(s) refused by a:1: ${oom}; 1 write(s) refused by a:1: NS`);
});

test('a file settles when it is read to its end and every batch sent has an outcome', () => {
  const t = new FileTally('/x/20170929000000.tsv.gz', 0, 0);
  t.addChunk({ lines: 3, nonBlank: 2, rejected: {}, appWarnings: 0 });
  t.addSent(2);
  assert.equal(t.settled, false);
  t.endOfInput(null);
  assert.equal(t.settled, false, 'a batch is still out');
  t.batchSettled(settled('a:1', { loaded: 2 }));
  assert.equal(t.settled, true);
  assert.equal(t.lineNumber, 3);
  assert.equal(t.addTooLong(true), null, 'a blank over-long line is not counted');
  assert.equal(t.addTooLong(false), 5);
  const r = t.report(0.9, true);
  assert.deepEqual([r.lines, r.blankLines, r.records, r.loaded, r.rejected.too_long, r.renamed], [3, 2, 2, 2, 1, true]);
});
