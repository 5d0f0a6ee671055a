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

test('the loader\'s metrics: the folder\'s lag read at scrape time, and a connection given up (issue #20, item 3)', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { channel } = await import('node:diagnostics_channel');
  const dir = mkdtempSync(join(tmpdir(), 'memc-metrics-'));
  const m = new LoaderMetrics(['10.0.0.1:11211'], { pattern: join(dir, '*.tsv.gz'), loadLate: false });
  try {
    writeFileSync(join(dir, '.20170929000000.tsv.gz'), 'x');
    writeFileSync(join(dir, '20170929000100.tsv.gz'), 'x');
    const minuteAge = Math.round((Date.now() - Date.UTC(2017, 8, 29, 0, 1)) / 1000);
    const text = await m.registry.metrics();
    const age = Number(/^memc_load_oldest_pending_file_age_seconds\{pattern="[^"]+"\} (\d+)$/m.exec(text)?.[1]);
    assert.ok(Math.abs(age - minuteAge) <= 2, `oldest pending ${age} s, its minute ${minuteAge} s ago`);
    assert.match(text, /^memc_load_pending_files\{pattern="[^"]+\*\.tsv\.gz"\} 1$/m);
    assert.match(text, /^memc_load_server_given_up\{server="10\.0\.0\.1:11211"\} 0$/m);
    channel('memc-load:connection:gone').publish({ server: '10.0.0.1:11211', error: new Error('gave up') });
    m.serverDown('10.0.0.1:11211');
    const after = await m.registry.metrics();
    assert.match(after, /^memc_load_server_given_up\{server="10\.0\.0\.1:11211"\} 1$/m);
    assert.match(after, /^memc_load_server_up\{server="10\.0\.0\.1:11211"\} 0$/m);
    m.serverUp('10.0.0.1:11211');
    assert.match(await m.registry.metrics(), /^memc_load_server_given_up\{server="10\.0\.0\.1:11211"\} 0$/m, 'connected again: no longer given up');
  } finally {
    m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
