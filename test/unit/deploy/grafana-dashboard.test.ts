/**
 * deploy/grafana/memc-load.json (issue #20, item 4): every query in it parses as PromQL (promtool
 * checks a throwaway rules file made of them) and names only metrics memc-load exports, so a
 * renamed metric breaks this test, not a panel on the night it is needed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportedMetricNames, promtool, PROMTOOL_BIN, toolMissing } from '../../helpers/prometheus.js';
import { repoRoot } from '../../helpers/paths.js';

interface Panel { readonly title: string; readonly targets?: readonly { readonly expr: string }[]; readonly panels?: readonly Panel[] }
interface Dashboard { readonly panels: readonly Panel[]; readonly templating: { readonly list: readonly { readonly name: string; readonly query?: unknown }[] } }

const dashboard = JSON.parse(readFileSync(join(repoRoot(), 'deploy/grafana/memc-load.json'), 'utf8')) as Dashboard;
const queries = dashboard.panels
  .flatMap((p) => [p, ...(p.panels ?? [])])
  .flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Grafana's variables as Prometheus would see them once Grafana has filled them in. */
function filled(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval/g, '5m').replace(/\$\{?instance\}?/g, '.*');
}

test('the dashboard has queries, each naming a metric memc-load exports, and only such', async () => {
  assert.ok(queries.length >= 15, `${queries.length} queries`);
  const exported = await exportedMetricNames();
  const templates = dashboard.templating.list.map((v) => (typeof v.query === 'string' ? v.query : '')).join('\n');
  for (const q of [...queries, { panel: 'the instance variable', expr: templates }]) {
    const named = q.expr.match(/\bmemc_load_[a-z_]+/g) ?? [];
    if (q.panel !== 'the instance variable') assert.ok(named.length > 0, `${q.panel}: names no memc-load metric: ${q.expr}`);
    for (const n of named) assert.ok(exported.has(n), `${q.panel}: ${n} is not a metric memc-load exports`);
  }
});

test('every query of the dashboard parses (promtool check rules on a rules file made of them)', { skip: toolMissing(PROMTOOL_BIN) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memc-dash-'));
  try {
    // JSON is YAML: one recording rule per query.
    const rules = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `memc_load_dashboard_query_${i}`, expr: filled(q.expr) })) }] };
    writeFileSync(join(dir, 'rules.yml'), JSON.stringify(rules));
    const r = await promtool(['check', 'rules', join(dir, 'rules.yml')]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${queries.length} rules found`));
    // The check can fail: a broken query is refused.
    writeFileSync(join(dir, 'broken.yml'), JSON.stringify({ groups: [{ name: 'x', rules: [{ record: 'x', expr: 'sum by (server (memc_load_server_up)' }] }] }));
    assert.notEqual((await promtool(['check', 'rules', join(dir, 'broken.yml')])).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
