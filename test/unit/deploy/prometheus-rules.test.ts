/**
 * deploy/prometheus/memc-load.rules.yml (issue #20, item 4): promtool's own checks and unit tests
 * (deploy/prometheus/*.test.yml, one case or more per alert), run here so CI runs them; and every
 * alert has a test, every metric a rule names is one memc-load exports.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportedMetricNames, promtool, PROMTOOL_BIN, toolMissing } from '../../helpers/prometheus.js';
import { repoRoot } from '../../helpers/paths.js';

const dir = join(repoRoot(), 'deploy/prometheus');
const skip = toolMissing(PROMTOOL_BIN);

// Read with patterns, not a YAML parser: these are our own files, in one layout, and promtool
// (above) is what proves them valid YAML and PromQL.
const rulesText = () => readFileSync(join(dir, 'memc-load.rules.yml'), 'utf8').replace(/#.*$/gm, '');

test('promtool check rules accepts the shipped rules', { skip }, async () => {
  const r = await promtool(['check', 'rules', join(dir, 'memc-load.rules.yml')]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 8 rules found/);
});

test('promtool test rules: every case of deploy/prometheus/*.test.yml passes', { skip }, async () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.yml'));
  assert.ok(files.length > 0);
  const r = await promtool(['test', 'rules', ...files], dir);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
  assert.doesNotMatch(r.out, /FAILED/);
});

test('every alert is tested firing and not firing; every metric a rule names is exported', async () => {
  const alerts = [...rulesText().matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1] as string);
  assert.deepEqual(alerts.sort(), [
    'MemcLoadClusterJobFailed', 'MemcLoadFallingBehind', 'MemcLoadFileFailed', 'MemcLoadNoLiveWorker',
    'MemcLoadRedisUnreachable', 'MemcachedEvictions', 'MemcachedServerDown', 'MemcachedServerGivenUp',
  ]);
  // `alertname: X` then `exp_alerts: []` (does not fire) or `exp_alerts:` and a list (fires).
  const cases = readdirSync(dir)
    .filter((f) => f.endsWith('.test.yml'))
    .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/alertname: (\w+)\n\s*exp_alerts:( \[\])?\n/g)])
    .map((m) => ({ alert: m[1] as string, fires: m[2] === undefined }));
  for (const a of alerts) {
    assert.ok(cases.some((c) => c.alert === a && c.fires), `${a}: a case where it fires`);
    assert.ok(cases.some((c) => c.alert === a && !c.fires), `${a}: a case where it does not`);
  }
  const exported = await exportedMetricNames();
  const named = new Set(rulesText().match(/\bmemc_load_[a-z_]+/g));
  assert.ok(named.size >= 8);
  for (const name of named) assert.ok(exported.has(name), `${name} is named in the rules but not a metric memc-load exports`);
});
