/**
 * A cluster whose worker hosts are hosts: the servers (redis-server and one memcached per device
 * type) in one network namespace, each worker in a namespace of its own (test/helpers/netns.ts),
 * the test process on the same bridge to enqueue, read the status and read values back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { ServerAddress } from '../../../src/config/servers.js';
import { stats } from '../../../src/memcached/admin.js';
import { Queues } from '../../../src/queue/queues.js';
import { readStatus, type Status } from '../../../src/queue/status.js';
import { checkServers } from '../../helpers/check.js';
import { runCli, startCli, type CliResult, type RunningCli } from '../../helpers/cli.js';
import { clusterSuite } from '../../helpers/cluster.js';
import { startServers, type MemcachedHandle } from '../../helpers/memcached.js';
import { makeLab, netnsMissing, type Lab, type NetHost } from '../../helpers/netns.js';
import type { Expected } from '../../helpers/oracle.js';
import { startRedis, type RedisHandle } from '../../helpers/redis.js';
import type { Scratch } from '../../helpers/scratch.js';

/** Short, so that a stalled holder loses its apply within a test's time. */
export const LOCK_MS = 1000;

export interface HostsRig {
  readonly lab: Lab;
  readonly redis: RedisHandle;
  /** idfa, gaid, adid, dvid: one node each. */
  readonly nodes: readonly MemcachedHandle[];
  /** --idfa a --gaid b --adid c --dvid d, for enqueue and single-host runs. */
  readonly serverArgs: readonly string[];
  /** A worker on `host`, with a lock of `lockMs` (LOCK_MS unless said). */
  startWorker(host: NetHost, lockMs?: number): RunningCli;
  /** The single-host loader on `host`, on this rig's nodes, returning while it runs. */
  startSingle(host: NetHost, args: readonly string[], timeoutMs?: number): RunningCli;
  enqueue(args: readonly string[], timeoutMs?: number): Promise<CliResult>;
  /** enqueue, returning while it runs (with --wait: the plan's verdict is its exit). */
  startEnqueue(args: readonly string[], timeoutMs?: number): RunningCli;
  status(): Promise<Status>;
  /**
   * The status once the plan has settled (a failed plan finishes its jobs first): polled in
   * process, which costs no process per poll on a loaded machine; the verdict read through the bin.
   */
  settledStatus(timeoutMs?: number): Promise<Status>;
  check(expected: Expected): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A worker-host test file's frame (a fault suite: test/helpers/fault-suites.ts): its scratch
 * folder, why it skips (no root or iproute2, no redis-server, or CI runs fault suites on another
 * Node major), its data set made once, and every process stopped by pid afterwards.
 */
export function hostsSuite(prefix: string, data: (dataset: string) => Promise<unknown>): { scratch: Scratch; skip: string | false } {
  return clusterSuite(prefix, { fault: true, needs: netnsMissing, data });
}

export async function startHostsRig(hostCount: number): Promise<HostsRig> {
  const lab = makeLab(hostCount);
  const on = { host: lab.servers.address, netns: lab.servers.ns };
  let redis: RedisHandle | null = null;
  let nodes: MemcachedHandle[] = [];
  const workers: RunningCli[] = [];
  const stop = async () => {
    await Promise.all(workers.map((w) => killAndWait(w)));
    await Promise.all([redis?.stop(), ...nodes.map((n) => n.stop())]);
    lab.destroy();
  };
  try {
    [redis, nodes] = await Promise.all([startRedis(on), startServers(4, { ...on, memoryMb: 64 })]);
  } catch (err) {
    await stop();
    throw err;
  }
  const r = redis;
  const status = async (): Promise<Status> => {
    const s = await runCli(['status', '--redis', r.url, '--json']);
    assert.equal(s.code, 0, s.stderr);
    return JSON.parse(s.stdout) as Status;
  };
  const serverArgs = ['idfa', 'gaid', 'adid', 'dvid'].flatMap((t, i) => [`--${t}`, nodes[i]!.address.label]);
  return {
    lab,
    redis: r,
    nodes,
    serverArgs,
    startWorker(host, lockMs = LOCK_MS) {
      const w = startCli(['worker', '--redis', r.url, '--lock-duration', String(lockMs)], { timeoutMs: 180_000, prefix: host.wrap([]) });
      workers.push(w);
      return w;
    },
    startSingle(host, args, timeoutMs = 90_000) {
      const s = startCli([...args, ...serverArgs], { timeoutMs, prefix: host.wrap([]) });
      workers.push(s);
      return s;
    },
    enqueue: (args, timeoutMs = 90_000) => runCli(['enqueue', '--redis', r.url, ...serverArgs, ...args], { timeoutMs }),
    startEnqueue(args, timeoutMs = 120_000) {
      const e = startCli(['enqueue', '--redis', r.url, ...serverArgs, ...args], { timeoutMs });
      workers.push(e); // stopped with the rig, when a trial gives up on its set-up
      return e;
    },
    status,
    async settledStatus(timeoutMs = 60_000) {
      const redis = new Redis(r.url, { maxRetriesPerRequest: null });
      const queues = new Queues(redis);
      try {
        const deadline = performance.now() + timeoutMs;
        while (!(await readStatus(queues)).settled) {
          assert.ok(performance.now() < deadline, `the plan did not settle within ${timeoutMs / 1000} s`);
          await sleep(100);
        }
      } finally {
        await queues.close();
        redis.disconnect();
      }
      return status();
    },
    check: (expected) =>
      checkServers(
        nodes.map((n) => n.address),
        expected,
      ),
    stop,
  };
}

function killAndWait(w: RunningCli): Promise<unknown> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return Promise.resolve();
  w.child.kill('SIGCONT');
  w.child.kill('SIGKILL');
  return w.done;
}

/** The client addresses (`ip:port`) a memcached node lists in `stats conns`. */
export async function listedClients(node: ServerAddress): Promise<string[]> {
  const s = await stats(node, 5000, 'conns');
  return Object.entries(s)
    .filter(([k]) => k.endsWith(':addr'))
    .map(([, v]) => v.replace(/^tcp:/, ''));
}

/**
 * Waits (bounded) until no TCP socket inside `host` still holds bytes it has not delivered: what
 * a cut host sent is retransmitted after the heal, and must have landed before values are read.
 */
export async function untilHostDrained(host: NetHost, timeoutMs = 20_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const argv = host.wrap(['ss', '-tnH']);
    const lines = execFileSync(argv[0] as string, argv.slice(1))
      .toString()
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '');
    // State Recv-Q Send-Q Local Peer: a socket is drained when nothing waits in its send queue
    // and it is not closing with bytes still unacknowledged.
    const busy = lines.filter((l) => {
      const [state, , sendQ] = l.trim().split(/\s+/);
      return Number(sendQ) > 0 || /FIN-WAIT-1|LAST-ACK|CLOSING/.test(state ?? '');
    });
    if (busy.length === 0) return true;
    await sleep(100);
  }
  return false;
}
