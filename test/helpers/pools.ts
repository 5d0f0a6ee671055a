/**
 * Pools of real memcached for the pool tests, and the pylibmc oracle (pylibmc-oracle.py): a
 * reader built on libmemcached, which no line of memc-load wrote.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { stats } from '../../src/memcached/admin.js';
import { ownLoopback, startMemcached, type MemcachedHandle } from './memcached.js';
import { TYPES, type Expected } from './oracle.js';
import { repoRoot } from './paths.js';

/** Debian's python, which has python3-pylibmc (the `python3` on PATH may be another one). */
export const PYTHON = '/usr/bin/python3';

/**
 * Why the pylibmc tests cannot run here, or false. In CI they must run: there a missing pylibmc
 * is a failure (.ci/run installs it), not a skip.
 */
export function pylibmcMissing(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import pylibmc'], { encoding: 'utf8' });
  if (probe.status === 0) return false;
  if (process.env['CI']) return false;
  return `${PYTHON} cannot import pylibmc (apt-get install -y python3-pylibmc): ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}`;
}

/**
 * One node to start: where it listens, how the flag names it (localhost for 127.0.0.1; `own`: a
 * loopback address of its own, for a node the test stops and starts again, see ownLoopback), its weight.
 */
export interface NodePlan {
  readonly host?: '127.0.0.1' | '::1' | 'localhost' | 'own';
  readonly weight?: number;
}

export interface StartedPool {
  readonly servers: MemcachedHandle[];
  /** The items of the flag's value, e.g. `[::1]:40001:3`. */
  readonly specs: string[];
  /** Per node, its name in the log and the report (`host:port`, no weight). */
  readonly labels: string[];
}

export async function startPool(plan: readonly NodePlan[], memoryMb = 16): Promise<StartedPool> {
  const servers = await Promise.all(
    plan.map((n) => startMemcached({ memoryMb, host: n.host === '::1' ? '::1' : n.host === 'own' ? ownLoopback() : '127.0.0.1' })),
  );
  const labels = servers.map((s, i) => (plan[i]?.host === 'localhost' ? `localhost:${s.port}` : s.address.label));
  const specs = labels.map((l, i) => (plan[i]?.weight === undefined ? l : `${l}:${plan[i]?.weight}`));
  return { servers, specs, labels };
}

/** The four flags for pools in idfa, gaid, adid, dvid order. */
export function poolArgs(pools: readonly StartedPool[]): string[] {
  return TYPES.flatMap((t, i) => [`--${t}`, (pools[i] as StartedPool).specs.join(',')]);
}

export interface PylibmcView {
  /** Each key's value as pylibmc reads it through the pool, hex; null when it finds none. */
  readonly values: Record<string, string | null>;
  /** Per node, the keys that node alone holds. */
  readonly holders: string[][];
}

/** Asks pylibmc, configured with `behaviors` over each type's pool, what it reads. */
export function askPylibmc(
  behaviors: Record<string, boolean>,
  pools: Record<string, readonly string[]>,
  keys: Record<string, readonly string[]>,
): Promise<Record<string, PylibmcView>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(repoRoot(), 'test/helpers/pylibmc-oracle.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`pylibmc oracle exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as Record<string, PylibmcView>);
    });
    child.stdin.end(JSON.stringify({ behaviors, pools, keys }));
  });
}

/**
 * pylibmc, over each type's pool with `behaviors`, reads every expected key with the expected
 * bytes; every key is on exactly one node, and each node holds nothing but its keys. Returns
 * what pylibmc saw, per type.
 */
export async function assertPoolsHold(
  pools: readonly StartedPool[],
  expected: Expected,
  behaviors: Record<string, boolean>,
): Promise<Record<string, PylibmcView>> {
  const keys = Object.fromEntries(TYPES.map((t) => [t, [...(expected.byType[t] as Map<string, Buffer>).keys()]]));
  const specs = Object.fromEntries(TYPES.map((t, i) => [t, (pools[i] as StartedPool).specs]));
  const seen = await askPylibmc(behaviors, specs, keys);
  for (const [i, t] of TYPES.entries()) {
    const pool = pools[i] as StartedPool;
    const want = expected.byType[t] as Map<string, Buffer>;
    const view = seen[t] as PylibmcView;
    const wrong = [...want].filter(([k, v]) => view.values[k] !== v.toString('hex')).map(([k]) => k);
    assert.deepEqual(wrong.slice(0, 5), [], `${t}: pylibmc over ${pool.specs.join(',')} misses or misreads ${wrong.length} of ${want.size} keys`);
    const held = view.holders.flat();
    assert.equal(held.length, want.size, `${t}: every key on exactly one node (${view.holders.map((h) => h.length).join('+')})`);
    assert.equal(new Set(held).size, want.size);
    for (const [n, server] of pool.servers.entries()) {
      if (pool.servers.length > 1) assert.ok((view.holders[n] as string[]).length > 0, `${pool.labels[n]} holds some keys`);
      const s = await stats(server.address);
      assert.equal(Number(s['curr_items']), (view.holders[n] as string[]).length, `${pool.labels[n]}: nothing stored but its keys`);
    }
  }
  return seen;
}
