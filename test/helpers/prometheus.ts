/**
 * Debian's Prometheus tools for the deploy/ tests: promtool (rule unit tests, expression
 * checks) and a real prometheus server on a free port with its own config and storage, stopped
 * by pid. Without them a test skips and says why, except under CI, where it fails.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { LoaderMetrics } from '../../src/metrics/metrics.js';
import { WorkerMetrics } from '../../src/queue/metrics.js';
import { freePort } from './memcached.js';

export const PROMTOOL_BIN = process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';
export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';

/** Why `bin` cannot run here, or false; under CI a missing tool is a failure, not a skip. */
export function toolMissing(bin: string): string | false {
  if (existsSync(bin) || process.env['CI']) return false;
  return `${bin} not found (apt-get install -y prometheus)`;
}

/** Runs promtool; resolves to its exit code and output, whatever the code. */
export async function promtool(args: readonly string[], cwd?: string): Promise<{ code: number; out: string }> {
  try {
    const r = await promisify(execFile)(PROMTOOL_BIN, args, { cwd, timeout: 20_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

/**
 * Every metric name memc-load registers, in both modes, as a scrape shows them (a histogram's
 * `_bucket`, `_sum`, `_count` too): what the rules and the dashboard may name.
 */
export async function exportedMetricNames(): Promise<Set<string>> {
  const loader = new LoaderMetrics(['127.0.0.1:1'], { pattern: join(tmpdir(), 'memc-load-no-such-dir', '*.tsv.gz'), loadLate: false });
  const worker = new WorkerMetrics(null);
  try {
    const names = new Set<string>();
    for (const m of [...(await loader.registry.getMetricsAsJSON()), ...(await worker.registry.getMetricsAsJSON())]) {
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
      else names.add(m.name);
    }
    return names;
  } finally {
    loader.close();
    worker.close();
  }
}

export interface PrometheusHandle {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A prometheus scraping `targets` (job name → host:port list) every second, evaluating
 * `ruleFiles` every second, with its own storage in a temporary folder.
 */
export async function startPrometheus(targets: Readonly<Record<string, readonly string[]>>, ruleFiles: readonly string[]): Promise<PrometheusHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'memc-prom-'));
  const port = await freePort();
  const jobs = Object.entries(targets)
    .map(([job, list]) => `  - job_name: ${job}\n    static_configs:\n      - targets: [${list.map((t) => `'${t}'`).join(', ')}]\n`)
    .join('');
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files:\n${ruleFiles.map((f) => `  - '${f}'\n`).join('')}scrape_configs:\n${jobs}`);
  const child = spawn(PROMETHEUS_BIN, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid as number, 'SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}:\n${log}`);
    }
    await sleep(100);
  }
  return { url, child, stop };
}
