import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shapeMismatch, shapeOf } from '../../../src/cluster/manifest.js';
import { fileVerdict, type ApplyResult, type SplitManifest } from '../../../src/cluster/stages.js';
import { resolveOptions } from '../../../src/config/options.js';

const servers = { idfa: 'a:1,b:1', gaid: 'c:1', adid: 'd:1', dvid: 'e:1' };

test('shapeMismatch names the first option that shapes the bytes differently', () => {
  const base = shapeOf(resolveOptions({ servers }));
  assert.equal(shapeMismatch(base, shapeOf(resolveOptions({ servers, workers: 7, retries: 2 }))), null, 'connection and thread options do not matter');
  assert.match(shapeMismatch(base, shapeOf(resolveOptions({ servers, ttl: 60 })))!, /--ttl 0, this run has 60/);
  assert.match(shapeMismatch(base, shapeOf(resolveOptions({ servers, batchBytes: 8192 })))!, /--batch-bytes/);
  assert.match(shapeMismatch(base, shapeOf(resolveOptions({ servers: { ...servers, idfa: 'a:1,b:1:2' } })))!, /the servers/);
  assert.match(shapeMismatch(base, shapeOf(resolveOptions({ servers, distribution: 'modula' })))!, /--distribution/);
});

const lane = (server: string, records: number) => ({ server, host: 'h', port: 1, segment: records ? `x.${server}.seg` : null, records, bytes: 0, batches: 1 });
const manifest = (over: Partial<SplitManifest> = {}): SplitManifest =>
  ({ lines: 100, rejectedTotal: 0, error: null, lanes: [lane('a:1', 60), lane('c:1', 40), lane('e:1', 0)], shape: { maxErrorRate: 0.05 }, ...over }) as SplitManifest;
const applied = (server: string, records: number, over: Partial<ApplyResult> = {}): ApplyResult =>
  ({ server, records, acknowledged: records, tooLarge: 0, failedWrites: 0, lostOwnership: false, error: null, ...over }) as ApplyResult;

test('fileVerdict: succeeded only when every lane with records is acknowledged', () => {
  assert.deepEqual(fileVerdict(manifest(), [applied('a:1', 60), applied('c:1', 40)]), { outcome: 'succeeded', error: null });
  assert.equal(fileVerdict(manifest(), [applied('a:1', 60)]).outcome, 'failed_load', 'a lane not applied');
  assert.equal(fileVerdict(manifest(), [applied('a:1', 60), applied('c:1', 40, { lostOwnership: true })]).outcome, 'failed_load');
  assert.equal(fileVerdict(manifest(), [applied('a:1', 60), applied('c:1', 40, { acknowledged: 39, failedWrites: 1 })]).outcome, 'failed_load');
  assert.equal(fileVerdict(manifest({ error: 'gzip broken' }), [applied('a:1', 60), applied('c:1', 40)]).outcome, 'failed_load');
});

test('fileVerdict: rejected lines plus too-large records against --max-error-rate', () => {
  assert.equal(fileVerdict(manifest({ rejectedTotal: 4 }), [applied('a:1', 60), applied('c:1', 40)]).outcome, 'succeeded');
  assert.equal(fileVerdict(manifest({ rejectedTotal: 4 }), [applied('a:1', 60, { acknowledged: 59, tooLarge: 1 }), applied('c:1', 40)]).outcome, 'failed_data');
});
