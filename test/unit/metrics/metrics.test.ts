import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoaderMetrics } from '../../../src/metrics/metrics.js';
import { settled, tallyOf } from '../../helpers/tally.js';

test('metrics per node of a pool: records loaded, failures, evictions, latency, and health each by server (issue #13)', async () => {
  const m = new LoaderMetrics(['10.0.0.1:11211', '10.0.0.2:11211']);
  m.batchSettled(settled('10.0.0.1:11211', { loaded: 400 }));
  m.batchSettled(settled('10.0.0.2:11211', { failed: 50, error: new Error('gave up') }));
  const file = tallyOf('/logs/20170929000000.tsv.gz', 0, 450, {}, []).report(0.01, false);
  m.fileFinished({ ...file, evictions: { '10.0.0.2:11211': 3 }, storeNoMemory: { '10.0.0.2:11211': 2 } });
  m.serverDown('10.0.0.2:11211');
  const text = await m.registry.metrics();
  assert.match(text, /^memc_load_server_records_loaded_total\{server="10\.0\.0\.1:11211"\} 400$/m);
  assert.match(text, /^memc_load_server_records_loaded_total\{server="10\.0\.0\.2:11211"\} 0$/m);
  assert.match(text, /^memc_load_failed_writes_total\{server="10\.0\.0\.2:11211"\} 50$/m);
  assert.match(text, /^memc_load_server_evictions_total\{server="10\.0\.0\.2:11211"\} 5$/m);
  assert.match(text, /^memc_load_batch_latency_seconds_count\{server="10\.0\.0\.1:11211"\} 1$/m);
  assert.match(text, /^memc_load_server_up\{server="10\.0\.0\.2:11211"\} 0$/m);
  assert.deepEqual(m.unhealthy(-1), ['10.0.0.2:11211'], '/healthz names the node that is down');
});
