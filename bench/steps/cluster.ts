/**
 * Step 2d: the cluster mode (issue #14) on this one machine: a redis-server (AOF on, noeviction),
 * `memc-load worker` processes (1, then 2: CLUSTER_WORKERS) started and idle before the clock, then
 * `memc-load enqueue --wait` timed from its start to its exit (every file split, applied, renamed).
 * CPU is the workers' and enqueue's (and Redis's, in the note); the check is the rig's, as for
 * every row. It prices what the cluster pays over the single-host loader on the same cores:
 * the spool (every frame written to disk and read back) and the queue (jobs, locks, polling).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, stopAllRedis, type RedisHandle } from '../../test/helpers/redis.js';
import { checkText, log, runLabel } from '../lib/log.js';
import { cpuTicks, runMeasured, ticksToSeconds, vmHwmKb } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { BIN, type BinRun, type Rig } from '../lib/rig.js';
import { clusterRowName, JUDGED_CLUSTER_WORKERS } from '../lib/cluster-rows.js';
import { rowOf, type RowBasis } from '../lib/rows.js';
import { measuredSample, pickMedian, type Sample } from '../lib/sample.js';
import { verify } from '../lib/verify.js';

/**
 * A row per count of CLUSTER_WORKERS (1,2), on one Redis, the counts in rotation run by run (as
 * the single-host rows are) so that a drift in the machine's speed falls on each alike. The
 * 1-worker row is the one the headline judges (bench/lib/cluster-rows.ts).
 */
export async function clusterRows(rig: Rig, basis: RowBasis): Promise<Row[]> {
  const { s } = rig;
  const counts = s.clusterWorkers;
  const redis = await startRedis();
  try {
    const runs = counts.map(() => ({ samples: [] as Sample[], notes: [] as string[] }));
    for (let i = 0; i < s.runs; i++) {
      for (const [k, workers] of counts.entries()) {
        log(`${clusterRowName(workers)}${runLabel(i, s.runs)}`);
        const run = await clusterRun(rig, redis, workers);
        runs[k]?.notes.push(`run ${i + 1}: ${run.note}`);
        runs[k]?.samples.push(run.sample);
      }
    }
    return counts.map((workers, k) => {
      const { samples, notes } = runs[k] as { samples: Sample[]; notes: string[] };
      const picked = pickMedian(samples);
      const judged = workers === JUDGED_CLUSTER_WORKERS;
      return rowOf(basis, clusterRowName(workers), 'memc-load', { ...picked, notes: [...picked.notes, ...notes] }, {
        command: [`memc-load worker --redis R${workers === 1 ? '' : ` (×${workers})`};`, 'memc-load enqueue --redis R', ...s.loaderArgs, '--idfa N1 --gaid N2 --adid N3 --dvid N4 --wait'].join(' '),
        note:
          `the same data through Redis (BullMQ) and a spool beside the input on this machine's disk: ${workers} worker process${workers === 1 ? '' : 'es'} and the enqueue; CPU s is theirs (Redis's in the notes); peak RSS is the largest worker's; ` +
          (judged
            ? 'the production shape on one host (one worker process per host, splitting on its cores; its split hands every node\'s part straight to its applies, so nothing goes through the spool: docs/cluster.md, the hand-off): the row the headline\'s cluster ÷ single host judges'
            : `informational: ${workers} processes share this host's cores, each splitting inline and paying its own start-up and JIT, which one process per host does not; a split hands off only the nodes whose applies the same process holds, the rest go through the spool`),
      });
    });
  } finally {
    await stopAllRedis();
  }
}

/**
 * One timed cluster run on `redis`: fresh servers, idle workers, `enqueue --wait` on the clock,
 * then the check. `how.bin`: another build's bin/memc-load.js, `how.node`: another node binary
 * for the workers and the enqueue (bench/before-after.ts). The note splits the CPU between the
 * workers, the enqueue and Redis.
 */
export async function clusterRun(rig: Rig, redis: RedisHandle, workerCount: number, how: BinRun = {}): Promise<{ sample: Sample; note: string }> {
  const { s } = rig;
  const bin = how.bin ?? BIN;
  const node = how.node ?? process.execPath;
  const before = await rig.freshServers();
  const dir = await rig.scratch(rig.main);
  const workers: ChildProcess[] = [];
  try {
    for (let w = 0; w < workerCount; w++) {
      workers.push(spawn(node, [bin, 'worker', '--redis', redis.url, '--log', join(dir, `worker-${w}.log`)], { stdio: 'ignore' }));
    }
    await sleep(1000); // started and idle, as long-running workers are
    const w0 = workers.map((w) => cpuTicks(w.pid as number));
    const r0 = cpuTicks(redis.pid);
    const mon = await rig.startWatch();
    const m = await runMeasured({
      script: bin,
      node,
      args: ['enqueue', '--redis', redis.url, '--pattern', join(dir, '*.tsv.gz'), ...rig.servers.cliArgs(), ...s.loaderArgs, '--wait'],
      timeoutMs: s.timeoutMs,
    });
    const workerCpuS = ticksToSeconds(workers.reduce((n, w, j) => n + cpuTicks(w.pid as number) - (w0[j] as number), 0));
    const redisCpuS = ticksToSeconds(cpuTicks(redis.pid) - r0);
    const hwmKb = Math.max(...workers.map((w) => vmHwmKb(w.pid as number) ?? 0));
    const cpuMs = m.cpuMs + workerCpuS * 1000;
    const around = mon.end(cpuMs / 1000 + redisCpuS);
    const problems: string[] = [];
    if (m.exitCode !== 0) problems.push(`enqueue --wait exit status ${m.exitCode ?? m.signal}: ${m.stderr.trim().slice(-300)}`);
    const pending = readdirSync(dir).filter((n) => n.endsWith('.tsv.gz') && !n.startsWith('.'));
    if (pending.length > 0) problems.push(`${pending.length} file(s) not marked done: ${pending.join(', ')}`);
    if (existsSync(join(dir, '.memc-load-spool')) && readdirSync(join(dir, '.memc-load-spool')).length > 0) problems.push('the spool was not emptied');
    const check = await verify(rig.servers, rig.main.expect, before, problems);
    const sample = measuredSample({ ...m, cpuMs, maxRssKb: hwmKb }, around, check, check.problems);
    log(`  ${sample.wallS.toFixed(2)} s wall, ${sample.cpuS?.toFixed(2)} s CPU (workers ${workerCpuS.toFixed(2)}, enqueue ${(m.cpuMs / 1000).toFixed(2)}, redis ${redisCpuS.toFixed(2)}), ${checkText(sample.problems)}`);
    return { sample, note: `workers ${workerCpuS.toFixed(2)} s CPU, enqueue ${(m.cpuMs / 1000).toFixed(2)} s, redis-server ${redisCpuS.toFixed(2)} s` };
  } finally {
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => (w.exitCode !== null ? resolve() : (w.once('exit', () => resolve()), w.kill('SIGTERM'))))));
    await rm(dir, { recursive: true, force: true });
  }
}
