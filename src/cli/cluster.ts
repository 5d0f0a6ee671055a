/**
 * The cluster commands' printing and exit statuses (docs/cluster.md):
 *   enqueue  0 planned, appended or nothing to do (with --wait: every planned file renamed, none held back as late)
 *            1 with --wait: a file failed, or a late file was held back; Redis unreachable
 *            2 usage or configuration error (Redis not noeviction included)
 *            75 a failed plan is still finishing, or another enqueue is planning: try again later
 *   worker   0 stopped by SIGTERM/SIGINT after finishing or handing back its jobs; 1 Redis lost at start
 *   status   0 (the state is in the output, not the exit status); 1 Redis unreachable
 */
import { isAbsolute, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { ERROR_CODES, MemcLoadError } from '../errors.js';
import { enqueue } from '../queue/enqueue.js';
import { defaultSpool } from '../queue/plan.js';
import { Queues } from '../queue/queues.js';
import { connectRedis } from '../queue/redis.js';
import { readStatus, type Status } from '../queue/status.js';
import { describeLag } from '../report/lag.js';
import { clusterHelp, type ClusterCommand } from './cluster-args.js';

const EXIT = { OK: 0, FAILED: 1, USAGE: 2, BUSY: 75, SIGINT: 130, SIGTERM: 143 } as const;

export async function runCluster(command: ClusterCommand): Promise<number> {
  if (command.kind === 'cluster-help') {
    process.stdout.write(`${clusterHelp(command.command)}\n`);
    return EXIT.OK;
  }
  let redis: Redis;
  try {
    redis = await connectRedis(command.redis);
  } catch (err) {
    return fail(command.kind, err);
  }
  const queues = new Queues(redis);
  try {
    switch (command.kind) {
      case 'enqueue':
        return await runEnqueue(queues, command);
      case 'status':
        return await runStatus(queues, command.json);
      case 'worker': {
        const { runWorker } = await import('./cluster-worker.js');
        return await runWorker(queues, command);
      }
    }
  } catch (err) {
    return fail(command.kind, err);
  } finally {
    await queues.close().catch(() => {});
    redis.disconnect();
  }
}

async function runEnqueue(queues: Queues, c: Extract<ClusterCommand, { kind: 'enqueue' }>): Promise<number> {
  // Workers run elsewhere, in other folders: every path in the plan is absolute.
  const options = { ...c.options, pattern: isAbsolute(c.options.pattern) ? c.options.pattern : resolve(c.options.pattern) };
  const spool = resolve(c.spool ?? defaultSpool(options.pattern));
  const r = await enqueue(queues, options, spool, c.spoolAhead, c.redis.url);
  const late = r.kind === 'busy' ? [] : r.late;
  for (const l of late) process.stderr.write(`memc-load enqueue: not planned: ${l.file}: ${l.reason}\n`);
  // Held back for the operator's decision: the folder is not loaded, and --wait says so.
  const verdict = (ok: boolean) => (ok && late.length === 0 ? EXIT.OK : EXIT.FAILED);
  switch (r.kind) {
    case 'busy':
      process.stderr.write(`memc-load enqueue: nothing enqueued: ${r.why}\n`);
      return EXIT.BUSY;
    case 'nothing':
      process.stderr.write(
        late.length > 0
          ? `memc-load enqueue: nothing to enqueue: the pending file(s) matching ${options.pattern}${r.plan !== null ? ` beyond plan ${r.plan}` : ''} are late (above)\n`
          : `memc-load enqueue: nothing to enqueue: no pending file matches ${options.pattern}${r.plan !== null ? ` beyond plan ${r.plan}` : ''}\n`,
      );
      if (!c.wait) return EXIT.OK;
      if (r.plan === null) return verdict(true);
      break;
    case 'planned':
    case 'appended':
      process.stderr.write(`memc-load enqueue: ${r.kind === 'planned' ? 'planned' : 'appended to plan'} ${r.plan}: ${r.files.length} file(s), ${r.files[0]} … ${r.files[r.files.length - 1]}; spool ${spool}\n`);
      for (const f of r.files) process.stdout.write(`${f}\n`);
      if (!c.wait) return EXIT.OK;
      break;
  }
  for (;;) {
    const s = await readStatus(queues);
    if (s.settled) {
      process.stderr.write(`memc-load enqueue: plan ${s.plan} settled: ${summary(s)}\n`);
      return verdict(s.counts.failed === 0 && s.counts.in_flight === 0);
    }
    await sleep(250);
  }
}

async function runStatus(queues: Queues, json: boolean): Promise<number> {
  const s = await readStatus(queues);
  if (json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return EXIT.OK;
  }
  process.stdout.write(renderStatus(s));
  return EXIT.OK;
}

function summary(s: Status): string {
  return `${s.counts.done} done, ${s.counts.failed} failed, ${s.counts.in_flight} in flight, ${s.counts.pending} pending${s.late > 0 ? ` (${s.late} late)` : ''}`;
}

export function renderStatus(s: Status): string {
  if (s.plan === null) return 'no plan yet: run memc-load enqueue\n';
  const out: string[] = [`plan ${s.plan} (made ${s.created}): ${s.settled ? 'settled' : 'in flight'}; files: ${summary(s)}`];
  if (s.lag !== null) out.push(`lag: ${describeLag(s.lag)}`);
  if (s.legacy !== null) out.push(`${s.legacy}; file states below are read from the folder alone`);
  out.push(`split jobs (all plans): ${s.split.waiting} waiting, ${s.split.active} running, ${s.split.completed} done, ${s.split.failed} failed`);
  out.push('nodes (apply jobs, all plans):');
  for (const l of s.lanes) {
    out.push(`  ${l.lane.padEnd(22)} ${l.waiting} waiting, ${l.active} running, ${l.completed} done, ${l.failed} failed${l.failedAt ? `; failed at ${l.failedAt}: later files held back on it` : ''}`);
  }
  out.push('files:');
  for (const f of s.files) out.push(`  ${f.state.padEnd(9)} ${f.file}${f.detail ? `: ${f.detail}` : ''}`);
  if (s.events.length > 0) {
    out.push('events:');
    for (const e of s.events) out.push(`  ${e}`);
  }
  return `${out.join('\n')}\n`;
}

function fail(command: string, err: unknown): number {
  if (err instanceof MemcLoadError) {
    process.stderr.write(`memc-load ${command}: ${err.message} [${err.code}]\n`);
    return err.code === ERROR_CODES.CONFIG || err.code === ERROR_CODES.INVALID_ARG ? EXIT.USAGE : EXIT.FAILED;
  }
  process.stderr.write(`memc-load ${command}: unexpected error, this is a bug in memc-load; please report it: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.FAILED;
}
