/**
 * The cluster commands' printing and exit statuses (docs/cluster.md):
 *   enqueue  0 planned, appended or nothing to do (with --wait: every planned file renamed, none held back as late)
 *            1 with --wait: a file failed, or a late file was held back; Redis unreachable
 *            2 usage or configuration error (a missing pattern folder, a spool that cannot be
 *              written, Redis not noeviction included)
 *            75 a failed plan is still finishing, or another enqueue is planning: try again later
 *   worker   0 stopped by SIGTERM/SIGINT after finishing or handing back its jobs; 1 Redis lost at start;
 *            2 usage or configuration error
 *   status   0 (the state is in the output, not the exit status); 1 Redis unreachable
 * enqueue and worker log as the loader does (--log, --log-level, --log-format); status prints.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { ERROR_CODES, MemcLoadError } from '../errors.js';
import { donePath } from '../logfile/mark-done.js';
import { enqueue } from '../queue/enqueue.js';
import { currentPlan, defaultSpool } from '../queue/plan.js';
import { PlanEvents } from '../queue/plan-events.js';
import { Queues } from '../queue/queues.js';
import { connectRedis, redisLabel, redisWhere, watchRedis } from '../queue/redis.js';
import { liveWorkers, planSettled, readStatus, type Status } from '../queue/status.js';
import { describeLag } from '../report/lag.js';
import type { ClusterCommand } from './cluster-args.js';
import { usageError } from './usage-error.js';
import { checkFolderWritable, checkPattern } from './preflight.js';
import { createTextLogger, type ClosableLogger } from './text-logger.js';

const EXIT = { OK: 0, FAILED: 1, USAGE: 2, BUSY: 75, SIGINT: 130, SIGTERM: 143 } as const;

type Enqueue = Extract<ClusterCommand, { kind: 'enqueue' }>;

/** Every cluster command but its help, which main.ts prints without loading this module (and BullMQ). */
export async function runCluster(command: Exclude<ClusterCommand, { kind: 'cluster-help' }>): Promise<number> {
  // What the operator can fix is checked before Redis is asked anything, as the loader does.
  let logger: ClosableLogger | null = null;
  let spool: string | null = null;
  try {
    if (command.kind !== 'status') logger = createTextLogger(command.log.file, command.log.level, command.log.format);
    if (command.kind === 'enqueue') {
      checkPattern(command.options.pattern);
      spool = resolve(command.spool ?? defaultSpool(absolutePattern(command)));
      await checkFolderWritable('--spool', spool);
    }
  } catch (err) {
    logger?.close();
    return usageError(err, command.kind);
  }
  // Not reached at start is one plain line, as a usage error is; what happens later is logged.
  const plain = (_: 'error', message: string) => void process.stderr.write(`memc-load ${command.kind}: ${message}\n`);
  const say = (level: 'error', message: string) => (logger === null ? plain(level, message) : logger.log(level, message));
  let redis: Redis;
  try {
    redis = await connectRedis(command.redis);
  } catch (err) {
    logger?.close();
    return fail(plain, err);
  }
  const queues = new Queues(redis);
  try {
    switch (command.kind) {
      case 'enqueue':
        return await runEnqueue(queues, command, spool as string, logger as ClosableLogger);
      case 'status':
        return await runStatus(queues, command.json);
      default: {
        // worker
        const { runWorker } = await import('./cluster-worker.js');
        return await runWorker(queues, command, logger as ClosableLogger);
      }
    }
  } catch (err) {
    return fail(say, err);
  } finally {
    await queues.close().catch(() => {});
    redis.disconnect();
    logger?.close();
  }
}

/** Workers run elsewhere, in other folders: every path in the plan is absolute. */
function absolutePattern(c: Enqueue): string {
  return isAbsolute(c.options.pattern) ? c.options.pattern : resolve(c.options.pattern);
}

async function runEnqueue(queues: Queues, c: Enqueue, spool: string, logger: ClosableLogger): Promise<number> {
  const options = { ...c.options, pattern: absolutePattern(c) };
  const r = await enqueue(queues, options, spool, c.spoolAhead, c.redis.url);
  const late = r.kind === 'busy' ? [] : r.late;
  for (const l of late) logger.log('warn', `not planned: ${l.file}: ${l.reason}`, { file: l.file });
  // Held back for the operator's decision: the folder is not loaded, and --wait says so.
  const verdict = (ok: boolean) => (ok && late.length === 0 ? EXIT.OK : EXIT.FAILED);
  const beyond = r.kind !== 'busy' && r.plan !== null ? ` beyond plan ${r.plan}` : '';
  switch (r.kind) {
    case 'busy':
      logger.log('warn', `nothing enqueued: ${r.why}`);
      return EXIT.BUSY;
    case 'nothing':
      logger.log(
        late.length > 0 ? 'warn' : 'info',
        late.length > 0
          ? `nothing to enqueue: the pending file(s) matching ${options.pattern}${beyond} are held back (above)`
          : `nothing to enqueue: no pending file matches ${options.pattern}${beyond}`,
      );
      if (!c.wait) return EXIT.OK;
      if (r.plan === null) return verdict(true);
      break;
    case 'planned':
    case 'appended':
      logger.log('info', `${r.kind === 'planned' ? 'planned' : 'appended to plan'} ${r.plan}: ${r.files.length} file(s), ${r.files[0]} … ${r.files[r.files.length - 1]}; spool ${spool}`);
      for (const f of r.files) process.stdout.write(`${f}\n`);
      if (!c.wait) return EXIT.OK;
      break;
  }
  const unwatch = watchRedis(queues.redis, c.redis.url, logger, 'enqueue --wait keeps waiting and reconnects by itself');
  try {
    return await waitForPlan(queues, c, logger, verdict, r.plan, r.kind === 'nothing' ? [] : r.files);
  } finally {
    unwatch();
  }
}

/**
 * Blocks on the plan's job events (queue/plan-events.ts) and reads the job counts only when a
 * job ended (at most every 250 ms), or after `tick` without one: no polling (issue #19 item 4). The tick also looks for
 * live workers when none has shown itself by an event, for --warn-idle.
 */
async function waitForPlan(queues: Queues, c: Enqueue, logger: ClosableLogger, verdict: (ok: boolean) => number, plan: string | null, files: readonly string[]): Promise<number> {
  const current = await currentPlan(queues.redis);
  const events = await PlanEvents.open(queues.redis, current?.lanes ?? []);
  // A quarter of --warn-idle keeps the warning within 1.25 x of it; 5 s at most, so that
  // nothing an event could miss (a queue obliterated by hand) waits longer than that.
  const tick = Math.min(5000, Math.max(250, c.warnIdleMs / 4));
  try {
    let idleSince = performance.now();
    let look = true;
    for (;;) {
      const turn = performance.now();
      const s = look && (await planSettled(queues)) ? await readStatus(queues) : null;
      if (s?.settled === true) {
        if (plan !== null && s.plan !== plan) return planGone(logger, redisWhere(c.redis.url), plan, s.plan, files, verdict);
        const failed = s.files.filter((f) => f.state === 'failed');
        for (const f of failed) logger.log('error', `failed: ${f.file}: ${f.detail ?? 'no reason recorded'}`, { file: f.file, reason: f.detail });
        logger.log(failed.length > 0 || s.counts.in_flight > 0 ? 'error' : 'info', `plan ${s.plan} settled: ${summary(s)}`);
        return verdict(s.counts.failed === 0 && s.counts.in_flight === 0);
      }
      const woken = await events.next(tick);
      // At most one turn per 250 ms, the old polling's rate: many workers end jobs in bursts,
      // whose events then wait in the stream and are read as one batch.
      const early = 250 - (performance.now() - turn);
      if (early > 0) await sleep(early);
      look = woken.ended || !woken.worker;
      // A plan with no worker alive waits for ever: say so while waiting, not never.
      if (woken.worker || (await liveWorkers(queues)) > 0) idleSince = performance.now();
      else if (performance.now() - idleSince >= c.warnIdleMs) {
        logger.log('warn', `no worker alive for ${Math.round(c.warnIdleMs / 1000)} s: ${plan === null ? 'the plan' : `plan ${plan}`} waits; start one: memc-load worker --redis ${redisLabel(c.redis.url)}`);
        idleSince = performance.now();
      }
    }
  } finally {
    events.close();
  }
}

/**
 * The plan waited on is no longer Redis's current plan: Redis lost it (restarted without its
 * data, flushed), or it settled and a newer plan replaced it between two looks. Its records went
 * with it, so the files decide: done only if every file this enqueue planned is renamed. Anything
 * else cannot be told, and is not reported as a success (it once was: `plan null settled`, exit 0).
 */
function planGone(logger: ClosableLogger, redis: string, plan: string, now: string | null, files: readonly string[], verdict: (ok: boolean) => number): number {
  const where = now === null ? `Redis at ${redis} holds no plan (restarted without its data, or flushed?)` : `Redis at ${redis} now holds plan ${now}`;
  const left = files.filter((f) => !existsSync(donePath(f)));
  if (files.length > 0 && left.length === 0) {
    logger.log('info', `plan ${plan} is no longer in Redis (${where}); its ${files.length} file(s) are all marked done`);
    return verdict(true);
  }
  const what = files.length === 0 ? 'how it ended cannot be told from here' : `${left.length} of its ${files.length} file(s) are not marked done (first: ${left[0]})`;
  logger.log('error', `plan ${plan} is gone: ${where}; ${what}. Run memc-load enqueue again: it plans every file still pending`);
  return EXIT.FAILED;
}

async function runStatus(queues: Queues, json: boolean): Promise<number> {
  const s = { ...(await readStatus(queues)), workers: await liveWorkers(queues) };
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

export function renderStatus(s: Status & { readonly workers: number }): string {
  const workers = `workers alive: ${s.workers}${s.workers === 0 ? ' (start one: memc-load worker --redis URL)' : ''}`;
  if (s.plan === null) return `no plan yet: run memc-load enqueue\n${workers}\n`;
  const out: string[] = [`plan ${s.plan} (made ${s.created}): ${s.settled ? 'settled' : 'in flight'}; files: ${summary(s)}`, workers];
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

function fail(say: (level: 'error', message: string) => void, err: unknown): number {
  if (err instanceof MemcLoadError) {
    say('error', `${err.message} [${err.code}]`);
    return err.code === ERROR_CODES.CONFIG || err.code === ERROR_CODES.INVALID_ARG ? EXIT.USAGE : EXIT.FAILED;
  }
  say('error', `unexpected error, this is a bug in memc-load; please report it: ${(err as Error)?.stack ?? String(err)}`);
  return EXIT.FAILED;
}
