import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { registerLag, ServerGauges } from '../../../src/metrics/shared.js';
import { lagOf } from '../../../src/report/lag.js';

test('lag gauges: read at each scrape, labelled by pattern; absent where unknown, not a made-up 0', async () => {
  const registry = new Registry();
  let now = Date.UTC(2017, 8, 29, 0, 10, 0);
  let pending = ['/l/20170929000300.tsv.gz'];
  let source: 'ok' | 'none' | 'broken' = 'ok';
  registerLag(registry, async () => {
    if (source === 'broken') throw new Error('EACCES');
    return source === 'none' ? null : { pattern: '/l/*.tsv.gz', lag: lagOf(pending, ['/l/.20170929000200.tsv.gz'], now) };
  });
  let text = await registry.metrics();
  assert.match(text, /^memc_load_oldest_pending_file_age_seconds\{pattern="\/l\/\*\.tsv\.gz"\} 420$/m);
  assert.match(text, /^memc_load_newest_done_file_age_seconds\{pattern="\/l\/\*\.tsv\.gz"\} 480$/m);
  assert.match(text, /^memc_load_pending_files\{pattern="\/l\/\*\.tsv\.gz"\} 1$/m);
  await new Promise((r) => setTimeout(r, 150)); // past the one-scrape cache
  now += 60_000;
  pending = [];
  text = await registry.metrics();
  assert.match(text, /^memc_load_oldest_pending_file_age_seconds\{pattern="\/l\/\*\.tsv\.gz"\} 0$/m, 'nothing pending is no lag');
  assert.match(text, /^memc_load_newest_done_file_age_seconds\{pattern="\/l\/\*\.tsv\.gz"\} 540$/m, 'the age grows with the clock');
  for (const s of ['none', 'broken'] as const) {
    await new Promise((r) => setTimeout(r, 150));
    source = s;
    text = await registry.metrics();
    assert.doesNotMatch(text, /^memc_load_(oldest_pending|newest_done)_file_age_seconds\{/m, `${s}: no series`);
  }
});

test('server gauges follow the connections\' channels: up, down, given up, up again', async () => {
  const registry = new Registry();
  const gauges = new ServerGauges(registry, ['10.0.0.1:11211']);
  const unfollow = gauges.follow(['connect', 'disconnect', 'gone']);
  const value = async (name: string, server: string) => {
    const m = (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels['server'] === server);
    return m?.value;
  };
  try {
    assert.equal(await value('memc_load_server_up', '10.0.0.1:11211'), 1, 'a configured server starts up');
    channel('memc-load:connection:connect').publish({ server: '10.0.0.2:11211', attempts: 0 });
    assert.equal(await value('memc_load_server_up', '10.0.0.2:11211'), 1);
    channel('memc-load:connection:disconnect').publish({ server: '10.0.0.2:11211', error: new Error('reset'), inFlight: 0, pending: 0 });
    assert.equal(await value('memc_load_server_up', '10.0.0.2:11211'), 0);
    assert.equal(await value('memc_load_server_given_up', '10.0.0.2:11211'), 0);
    channel('memc-load:connection:gone').publish({ server: '10.0.0.2:11211', error: new Error('gave up') });
    assert.equal(await value('memc_load_server_given_up', '10.0.0.2:11211'), 1);
    channel('memc-load:connection:connect').publish({ server: '10.0.0.2:11211', attempts: 3 });
    assert.equal(await value('memc_load_server_up', '10.0.0.2:11211'), 1);
    assert.equal(await value('memc_load_server_given_up', '10.0.0.2:11211'), 0);
  } finally {
    unfollow();
  }
  channel('memc-load:connection:gone').publish({ server: '10.0.0.1:11211', error: new Error('gave up') });
  assert.equal(await value('memc_load_server_given_up', '10.0.0.1:11211'), 0, 'unfollowed: no longer moved');
});
