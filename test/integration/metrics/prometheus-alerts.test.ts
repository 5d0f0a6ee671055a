/**
 * The shipped alerts, evaluated by a real Prometheus (issue #20, item 4): Debian's prometheus
 * scrapes a real `memc-load --watch` and a real `memc-load worker` every second and evaluates
 * deploy/prometheus/memc-load.rules.yml every second. Before any fault, no alert is pending or
 * firing; a memcached SIGKILLed fires MemcachedServerDown for that server on the loader; the
 * worker stopped fires MemcLoadNoLiveWorker. The rules are the shipped ones but for their `for:`
 * hold times, cut to 1 s so the test takes seconds, not minutes (promtool's tests cover the
 * times). A fault suite: Node 24 only in CI.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { serverArgs, startCli, stopAllCli, type RunningCli } from '../../helpers/cli.js';
import { faultSuitesOff } from '../../helpers/fault-suites.js';
import { freePort, startServers, stopAll } from '../../helpers/memcached.js';
import { processState } from '../../helpers/proc.js';
import { PROMETHEUS_BIN, startPrometheus, toolMissing, type PrometheusHandle } from '../../helpers/prometheus.js';
import { redisMissing, startRedis, type RedisHandle } from '../../helpers/redis.js';
import { repoRoot } from '../../helpers/paths.js';

const skip = faultSuitesOff() || toolMissing(PROMETHEUS_BIN) || redisMissing();
const dir = mkdtempSync(join(tmpdir(), 'memc-load-alerts-'));
let prometheus: PrometheusHandle | null = null;
let redis: RedisHandle | null = null;

after(async () => {
  await prometheus?.stop();
  await stopAllCli();
  await stopAll();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Alert { readonly labels: Readonly<Record<string, string>>; readonly state: 'pending' | 'firing' }

async function alerts(p: PrometheusHandle): Promise<Alert[]> {
  const body = (await (await fetch(`${p.url}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
  return body.data.alerts;
}

async function query(p: PrometheusHandle, promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const body = (await (await fetch(`${p.url}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | null | false>, log: () => string | Promise<string>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${await log()}`);
    await sleep(200);
  }
}

test('a real Prometheus fires MemcachedServerDown when a memcached dies under --watch, and MemcLoadNoLiveWorker when the worker stops; nothing before', { skip, timeout: 60_000 }, async () => {
  const servers = await startServers(4);
  redis = await startRedis();
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  await generateLogs({ dir: logs, files: 1, lines: 400, seed: 9 });
  const [loaderPort, workerPort] = [await freePort(), await freePort()];
  const loader: RunningCli = startCli(['--watch', '--watch-interval', '200', '--metrics-port', String(loaderPort), '--pattern', join(logs, '*.tsv.gz'), ...serverArgs(servers.map((s) => s.address.label))], { timeoutMs: 60_000 });
  const worker: RunningCli = startCli(['worker', '--redis', redis.url, '--metrics-port', String(workerPort)], { timeoutMs: 60_000 });
  const logOf = () => `--- loader:\n${loader.stderr()}\n--- worker:\n${worker.stderr()}`;
  // The loader has connected to every server once the file is done: a death is then seen at once.
  await until('the loader to load its file', 15_000, async () => readdirSync(logs).some((f) => f.startsWith('.')), logOf);
  await worker.waitForStderr(/memc-load worker \d+ started/, 15_000);

  const rules = join(dir, 'memc-load.rules.yml');
  const shipped = readFileSync(join(repoRoot(), 'deploy/prometheus/memc-load.rules.yml'), 'utf8');
  writeFileSync(rules, shipped.replace(/^(\s+for:) \S+$/gm, '$1 1s'));
  assert.notEqual(readFileSync(rules, 'utf8'), shipped, 'the hold times were cut');
  prometheus = await startPrometheus({ 'memc-load': [`127.0.0.1:${loaderPort}`], 'memc-load-worker': [`127.0.0.1:${workerPort}`] }, [rules]);
  const p = prometheus;
  const withAlerts = async () => `${logOf()}\n--- alerts: ${JSON.stringify(await alerts(p).catch((err: Error) => err.message))}`;

  // Before the fault: both targets scraped, the rules evaluated over several rounds, nothing raised.
  await until('both targets up and the four servers up', 15_000, async () => {
    const up = await query(p, 'up');
    const servers = await query(p, 'memc_load_server_up == 1');
    const running = await query(p, 'memc_load_cluster_worker_running == 1');
    return up.length === 2 && up.every((s) => s.value[1] === '1') && servers.length === 4 && running.length === 1;
  }, withAlerts);
  await sleep(3000); // three evaluation rounds with every series present
  const before = await alerts(p);
  assert.deepEqual(before, [], `no alert before the fault: ${JSON.stringify(before)}`);

  // The fault: one memcached dies. Made and seen made before anything is judged.
  const victim = servers[1]!;
  await victim.kill();
  assert.equal(processState(victim.pid), null, 'the memcached process is gone');
  const fired = await until('MemcachedServerDown firing', 15_000, async () => {
    const a = (await alerts(p)).find((x) => x.labels['alertname'] === 'MemcachedServerDown' && x.state === 'firing');
    return a ?? null;
  }, withAlerts);
  assert.equal(fired.labels['server'], victim.address.label);
  assert.equal(fired.labels['instance'], `127.0.0.1:${loaderPort}`);
  assert.equal(fired.labels['severity'], 'critical');
  const others = (await alerts(p)).filter((a) => a.labels['alertname'] === 'MemcachedServerDown' && a.labels['server'] !== victim.address.label);
  assert.deepEqual(others, [], 'only the dead server is down');
  assert.ok(!(await alerts(p)).some((a) => a.labels['alertname'] === 'MemcLoadNoLiveWorker'), 'the worker still runs');

  // The worker stops: nothing takes jobs any more.
  worker.child.kill('SIGTERM');
  const stopped = await worker.done;
  assert.equal(stopped.code, 0, stopped.stderr);
  await until('MemcLoadNoLiveWorker firing', 15_000, async () => (await alerts(p)).some((a) => a.labels['alertname'] === 'MemcLoadNoLiveWorker' && a.state === 'firing'), withAlerts);
  loader.child.kill('SIGTERM');
  await loader.done;
});
