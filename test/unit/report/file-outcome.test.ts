/**
 * One verdict in both modes (issue #18, item 1): the single host's FileTally and the cluster's
 * commit (fileVerdict over a manifest and its lanes' apply results) decide the same file alike,
 * because both call report/file-tally.ts fileOutcome. Each case is built the way each mode builds
 * it: a tally through its methods, a manifest and ApplyResults as split and apply write them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileVerdict, type ApplyResult, type SplitManifest } from '../../../src/cluster/stages.js';
import { errorRate, fileOutcome } from '../../../src/report/file-tally.js';
import { settled, tallyOf } from '../../helpers/tally.js';

interface Case {
  readonly name: string;
  readonly lines: number;
  readonly rejected?: number;
  readonly tooLarge?: number;
  readonly failed?: number;
  readonly readError?: string;
  readonly rate: number;
  readonly expected: 'succeeded' | 'failed_data' | 'failed_load';
}

const CASES: readonly Case[] = [
  { name: 'under the threshold', lines: 1000, rejected: 9, rate: 0.01, expected: 'succeeded' },
  { name: 'a rate equal to the threshold fails', lines: 1000, rejected: 10, rate: 0.01, expected: 'failed_data' },
  { name: 'too-large records count as rejected', lines: 1000, rejected: 9, tooLarge: 1, rate: 0.01, expected: 'failed_data' },
  { name: 'too-large records alone', lines: 100, tooLarge: 5, rate: 0.05, expected: 'failed_data' },
  { name: 'too-large records under the threshold', lines: 100, tooLarge: 5, rate: 0.06, expected: 'succeeded' },
  { name: 'one failed write fails the load', lines: 1000, failed: 1, rate: 0.5, expected: 'failed_load' },
  { name: 'a read error fails the load', lines: 1000, readError: 'gzip data broken', rate: 0.5, expected: 'failed_load' },
  { name: 'an empty file succeeds', lines: 0, rate: 0.01, expected: 'succeeded' },
  { name: 'no error succeeds even at threshold 0', lines: 10, rate: 0, expected: 'succeeded' },
  { name: 'one reject at threshold 0', lines: 10, rejected: 1, rate: 0, expected: 'failed_data' },
];

function singleHost(c: Case): string {
  const records = c.lines - (c.rejected ?? 0);
  const tooLarge = c.tooLarge ?? 0;
  const failed = c.failed ?? 0;
  const batches = records === 0 ? [] : [settled('a:1', { loaded: records - tooLarge - failed, tooLarge, failed, failedByReason: failed > 0 ? { SERVER_ERROR: failed } : {} })];
  const t = tallyOf('f', 0, c.lines, c.rejected ? { fields: c.rejected } : {}, batches);
  if (c.readError !== undefined) t.addError(c.readError);
  assert.equal(t.report(c.rate, false).outcome, t.outcome(c.rate));
  return t.outcome(c.rate);
}

function cluster(c: Case): string {
  const records = c.lines - (c.rejected ?? 0);
  const tooLarge = c.tooLarge ?? 0;
  const failed = c.failed ?? 0;
  const manifest = {
    lines: c.lines,
    rejectedTotal: c.rejected ?? 0,
    error: c.readError ?? null,
    lanes: [{ server: 'a:1', host: 'a', port: 1, segment: records > 0 ? 's.0.seg' : null, records, bytes: 0, batches: 1 }],
    shape: { maxErrorRate: c.rate },
  } as unknown as SplitManifest;
  const results = records === 0 ? [] : [{ server: 'a:1', records, acknowledged: records - tooLarge - failed, tooLarge, failedWrites: failed, lostOwnership: false, error: null } as unknown as ApplyResult];
  return fileVerdict(manifest, results).outcome;
}

for (const c of CASES) {
  test(`one verdict in both modes: ${c.name}`, () => {
    assert.equal(singleHost(c), c.expected, 'single host (FileTally)');
    assert.equal(cluster(c), c.expected, 'cluster (fileVerdict)');
  });
}

test('fileOutcome and errorRate: the rule itself', () => {
  assert.equal(errorRate({ lines: 0, rejected: 0, failedWrites: 0, loadFailed: false }), 0);
  assert.equal(errorRate({ lines: 200, rejected: 3, failedWrites: 1, loadFailed: false }), 0.02);
  assert.equal(fileOutcome({ lines: 200, rejected: 3, failedWrites: 0, loadFailed: false }, 0.015), 'failed_data');
  assert.equal(fileOutcome({ lines: 200, rejected: 3, failedWrites: 0, loadFailed: false }, 0.016), 'succeeded');
  assert.equal(fileOutcome({ lines: 200, rejected: 0, failedWrites: 0, loadFailed: true }, 1), 'failed_load');
});
