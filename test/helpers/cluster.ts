/**
 * A whole cluster on loopback for the cluster tests: a redis-server (AOF on, noeviction), five
 * memcached (idfa a pool of two, one each for the other types), worker processes of the real bin,
 * and the read-back check against the oracle that needs no placement: each key of the pool must
 * be on exactly one of its nodes, with the right bytes.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { ServerAddress } from '../../src/config/servers.js';
import { stats } from '../../src/memcached/admin.js';
import type { Status } from '../../src/queue/status.js';
import { compareValues, readValues } from './check.js';
import { runCli, startCli, stopAllCli, type CliResult, type RunningCli } from './cli.js';
import { faultSuitesOff } from './fault-suites.js';
import { startServers, stopAll, type MemcachedHandle } from './memcached.js';
import { TYPES, type Expected } from './oracle.js';
import { redisMissing, startRedis, stopAllRedis, type RedisHandle } from './redis.js';
import { Scratch } from './scratch.js';

export interface ClusterRig {
  readonly redis: RedisHandle;
  /** Per device type, its nodes (idfa has two). */
  readonly nodes: readonly (readonly MemcachedHandle[])[];
  /** --idfa a,b --gaid c --adid d --dvid e */
  readonly serverArgs: readonly string[];
  readonly workers: RunningCli[];
  startWorker(extra?: readonly string[]): RunningCli;
  enqueue(args: readonly string[], timeoutMs?: number): Promise<CliResult>;
  status(): Promise<Status>;
  /** Every key of `expected` holds its bytes, on exactly one node of its type; nothing else is stored. */
  check(expected: Expected): Promise<void>;
}

/**
 * A cluster test file's frame: its scratch folder; why it skips (no redis-server, or a fault
 * suite that CI runs on another Node major); its data set, made once before its tests; and
 * every process its tests started, stopped by pid after them, whatever happened.
 */
export function clusterSuite(
  prefix: string,
  opts: { readonly fault?: boolean; readonly data: (dataset: string) => Promise<unknown>; /** Another reason to skip (a missing tool), or false. */ readonly needs?: () => string | false },
): { scratch: Scratch; skip: string | false } {
  const scratch = new Scratch(prefix);
  const skip = (opts.fault === true && faultSuitesOff()) || redisMissing() || (opts.needs?.() ?? false);
  before(async () => {
    if (skip) return;
    await opts.data(scratch.dataset);
  });
  after(async () => {
    await stopAllCli();
    await stopAll();
    await stopAllRedis();
    scratch.remove();
  });
  return { scratch, skip };
}

export async function startCluster(): Promise<ClusterRig> {
  const [redis, servers] = await Promise.all([startRedis(), startServers(5, { memoryMb: 64 })]);
  const nodes = [servers.slice(0, 2), [servers[2]!], [servers[3]!], [servers[4]!]];
  const serverArgs = TYPES.flatMap((t, i) => [`--${t}`, nodes[i]!.map((s) => s.address.label).join(',')]);
  const workers: RunningCli[] = [];
  return {
    redis,
    nodes,
    serverArgs,
    workers,
    startWorker(extra = []) {
      const w = startCli(['worker', '--redis', redis.url, '--lock-duration', '2000', ...extra], { timeoutMs: 180_000 });
      workers.push(w);
      return w;
    },
    enqueue: (args, timeoutMs = 120_000) => runCli(['enqueue', '--redis', redis.url, ...serverArgs, ...args], { timeoutMs }),
    async status() {
      const r = await runCli(['status', '--redis', redis.url, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Status;
    },
    check: (expected) => checkCluster(nodes, expected),
  };
}

async function checkCluster(nodes: readonly (readonly MemcachedHandle[])[], expected: Expected): Promise<void> {
  for (const [i, type] of TYPES.entries()) {
    const want = expected.byType[type] as Map<string, Buffer>;
    const addresses: ServerAddress[] = nodes[i]!.map((s) => s.address);
    let items = 0;
    for (const a of addresses) items += Number((await stats(a))['curr_items']);
    if (addresses.length === 1) {
      const { missing, wrong, example } = await compareValues(addresses[0]!, want);
      assert.equal(missing + wrong, 0, `${type} on ${addresses[0]!.label}: ${missing} missing, ${wrong} wrong of ${want.size}, e.g. ${example}`);
    } else {
      const keys = [...want.keys()];
      const got = await Promise.all(addresses.map((a) => readValues(a, keys)));
      let bad = 0;
      let example = '';
      for (const [j, key] of keys.entries()) {
        const held = got.map((g) => g[j]).filter((v): v is Buffer => v !== null && v !== undefined);
        if (held.length === 1 && held[0]!.equals(want.get(key) as Buffer)) continue;
        bad++;
        example ||= `${JSON.stringify(key)} on ${held.length} node(s)`;
      }
      assert.equal(bad, 0, `${type} pool: ${bad} of ${want.size} keys not on exactly one node with the right bytes, e.g. ${example}`);
    }
    assert.equal(items, want.size, `${type}: the nodes hold nothing but the expected keys`);
  }
}

/** Resolves once every worker's stderr matches `pattern`… or any one, with `any`. */
export async function firstMatch(workers: readonly RunningCli[], pattern: RegExp, timeoutMs = 60_000): Promise<RunningCli> {
  return Promise.any(workers.map((w) => w.waitForStderr(pattern, timeoutMs).then(() => w)));
}
