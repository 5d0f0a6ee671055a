import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FileTally } from '../../../src/report/file-report.js';

function tally(lines: number, rejected: number, failed: number, errors: string[] = []): FileTally {
  const t = new FileTally('/x/20170929000000.tsv.gz', 0, 0);
  t.lines = lines;
  t.rejected.fields = rejected;
  t.addFailedWrites('127.0.0.1:1', failed);
  t.errors.push(...errors);
  t.readDone = true;
  return t;
}

test('SPEC outcome table', () => {
  assert.equal(tally(1000, 9, 0).finish(0.01, false).outcome, 'succeeded');
  assert.equal(tally(1000, 10, 0).finish(0.01, false).outcome, 'failed_data', 'rate equal to the threshold fails');
  assert.equal(tally(1000, 0, 1).finish(0.01, false).outcome, 'failed_load', 'any failed write fails the load');
  assert.equal(tally(1000, 0, 0, ['gzip broke']).finish(0.01, false).outcome, 'failed_load');
  assert.equal(tally(0, 0, 0).finish(0.01, false).outcome, 'succeeded', 'an empty file succeeds');
  assert.equal(tally(10, 0, 0).finish(0, false).outcome, 'succeeded', 'no error succeeds even at threshold 0');
  assert.equal(tally(10, 1, 0).finish(0, false).outcome, 'failed_data');
});

test('error rate counts rejected lines and failed writes over non-blank lines', () => {
  const r = tally(200, 3, 1).finish(0.5, false);
  assert.equal(r.errorRate, 4 / 200);
  assert.equal(r.rejectedTotal, 3);
  assert.deepEqual(r.failedWrites, { '127.0.0.1:1': 1 });
});

test('failed writes are counted by reason; refusals are explained once per server and reason', () => {
  const t = new FileTally('/x/20170929000000.tsv.gz', 0, 0);
  t.lines = 100;
  t.readDone = true;
  t.addFailedWrites('a:1', 3, { 'SERVER_ERROR out of memory storing object': 3 }, true);
  t.addFailedWrites('a:1', 2, { 'SERVER_ERROR out of memory storing object': 1, NS: 1 }, true);
  t.addFailedWrites('b:2', 4, { MCL_ERR_SERVER_GONE: 4 }, false);
  t.errors.push('gave up on memcached b:2');
  t.evictions['a:1'] = 7;
  const r = t.finish(0.5, false);
  assert.equal(r.outcome, 'failed_load');
  assert.deepEqual(r.failedWrites, { 'a:1': 5, 'b:2': 4 });
  assert.deepEqual(r.failedWritesByReason, { 'SERVER_ERROR out of memory storing object': 4, NS: 1, MCL_ERR_SERVER_GONE: 4 });
  assert.deepEqual(r.evictions, { 'a:1': 7 });
  assert.equal(
    r.error,
    'gave up on memcached b:2; 4 write(s) refused by a:1: SERVER_ERROR out of memory storing object; 1 write(s) refused by a:1: NS',
  );
});
