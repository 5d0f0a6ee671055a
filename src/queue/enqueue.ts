/**
 * `memc-load enqueue`: plans the pending files, oldest first (plan.ts has the shape of a plan).
 *
 * - No plan in flight: a new plan of every pending file. After a failure that is the re-plan
 *   from the earliest pending file: the failed file and every later one are still pending.
 * - A plan in flight that has not failed: the files newer than its last are appended to it.
 * - A plan in flight that has failed: nothing is enqueued (`busy`). Its later files fail as held
 *   back as their jobs finish; once it has settled, enqueue again re-plans.
 *
 * One enqueue at a time does this, under a Redis lock (SET NX with an expiry): two at once could
 * both see no plan in flight and plan the same files twice.
 */
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunOptions } from '../config/options.js';
import { listLogFiles } from '../logfile/list-files.js';
import { applyQueue, COMMIT_QUEUE, KEYS, SPLIT_QUEUE } from './names.js';
import { currentPlan, fileRecords, fileState, jobIds, planLanes, writePlan, type ApplyData, type CommitData, type Plan, type SplitData } from './plan.js';
import type { Queues } from './queues.js';

export type EnqueueResult =
  | { readonly kind: 'nothing'; readonly plan: string | null }
  | { readonly kind: 'planned' | 'appended'; readonly plan: string; readonly files: readonly string[] }
  | { readonly kind: 'busy'; readonly plan: string; readonly why: string };

/** A job's own retries would put it at the back of its queue, behind later files: it has one attempt, and retries inside. */
const JOB_OPTS = { attempts: 1, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } } as const;

export async function enqueue(queues: Queues, options: RunOptions, spool: string, spoolAhead: number): Promise<EnqueueResult> {
  const redis = queues.redis;
  const token = randomUUID();
  const deadline = Date.now() + 10_000;
  while ((await redis.set(KEYS.enqueueLock, token, 'PX', 30_000, 'NX')) !== 'OK') {
    if (Date.now() > deadline) return { kind: 'busy', plan: (await redis.get(KEYS.current)) ?? '?', why: 'another enqueue has been planning for 10 s' };
    await sleep(100);
  }
  try {
    return await planLocked(queues, options, spool, spoolAhead);
  } finally {
    // Compare-and-delete: a lock that expired and was taken by another enqueue is not ours to drop.
    await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, KEYS.enqueueLock, token);
  }
}

async function planLocked(queues: Queues, options: RunOptions, spool: string, spoolAhead: number): Promise<EnqueueResult> {
  const pending = await listLogFiles(options.pattern);
  const plan = await currentPlan(queues.redis);
  if (plan !== null && (await inFlight(queues, plan))) {
    const failed = await firstFailure(queues, plan);
    if (failed !== null) {
      return { kind: 'busy', plan: plan.id, why: `plan ${plan.id} failed at ${failed.file} (${failed.reason}) and its jobs are still finishing; enqueue again once \`memc-load status\` shows it settled` };
    }
    if (JSON.stringify(planLanes(options)) !== JSON.stringify(plan.lanes) || spool !== plan.spool) {
      return { kind: 'busy', plan: plan.id, why: `plan ${plan.id} in flight loads with other servers or another spool; enqueue these once it has settled` };
    }
    const last = basename(plan.files[plan.files.length - 1] ?? '');
    const newer = pending.filter((f) => basename(f) > last && !plan.files.includes(f));
    if (newer.length === 0) return { kind: 'nothing', plan: plan.id };
    const next: Plan = { ...plan, files: [...plan.files, ...newer] };
    // The plan first: an enqueue that dies half-way leaves files listed whose flows a later
    // enqueue adds (addFlows skips those that exist), never flows no plan lists.
    await writePlan(queues.redis, next);
    await addFlows(queues, next, plan.files.length);
    return { kind: 'appended', plan: plan.id, files: newer };
  }
  // Nothing pending and nothing in flight: the folder says every file is done, whatever an
  // earlier plan's verdict was, so there is nothing to wait for.
  if (pending.length === 0) return { kind: 'nothing', plan: null };
  const id = `p${await queues.redis.incr(KEYS.seq)}`;
  const next: Plan = { id, created: new Date().toISOString(), options, spool, spoolAhead, lanes: planLanes(options), files: pending };
  await writePlan(queues.redis, next);
  await queues.redis.sadd(KEYS.lanes, ...next.lanes);
  for (const lane of next.lanes) await queues.get(applyQueue(lane)).setGlobalConcurrency(1);
  await queues.redis.set(KEYS.current, id);
  await addFlows(queues, next, 0);
  return { kind: 'planned', plan: id, files: pending };
}

/** The plan's first failed file, in file order (see fileState: recorded, or passed up to its commit). */
async function firstFailure(queues: Queues, plan: Plan): Promise<{ file: string; reason: string } | null> {
  const records = await fileRecords(queues.redis, plan.id);
  for (const file of plan.files) {
    const { state, detail } = await fileState(queues, plan, file, records.get(basename(file)));
    if (state === 'failed') return { file: basename(file), reason: detail ?? 'failed' };
  }
  return null;
}

/** Any job of any memc-load queue not yet finished (waiting, delayed, active, waiting for children). */
export async function inFlight(queues: Queues, plan: Plan): Promise<boolean> {
  for (const name of [SPLIT_QUEUE, COMMIT_QUEUE, ...plan.lanes.map(applyQueue)]) {
    const c = await queues.get(name).getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'prioritized', 'paused');
    if (Object.values(c).some((n) => n > 0)) return true;
  }
  return false;
}

/** Adds the flows of `plan.files[from…]`, in order, skipping a file whose flow an earlier enqueue added. */
async function addFlows(queues: Queues, plan: Plan, from: number): Promise<void> {
  const commits = queues.get(COMMIT_QUEUE);
  for (let i = from; i < plan.files.length; i++) {
    const file = plan.files[i] as string;
    const commitId = jobIds.commit(plan.id, file);
    if ((await commits.getJob(commitId)) !== undefined) continue;
    const prev = i === 0 ? null : (plan.files[i - 1] as string);
    const commit: CommitData = { plan: plan.id, file, prev };
    const split: SplitData = { plan: plan.id, file, index: i };
    await queues.flow.add({
      name: 'commit',
      queueName: COMMIT_QUEUE,
      data: commit,
      opts: { ...JOB_OPTS, jobId: commitId },
      children: [
        { name: 'split', queueName: SPLIT_QUEUE, data: split, opts: { ...JOB_OPTS, jobId: jobIds.split(plan.id, file), failParentOnFailure: true } },
        ...plan.lanes.map((lane) => ({
          name: 'apply',
          queueName: applyQueue(lane),
          data: { plan: plan.id, file, lane } satisfies ApplyData,
          opts: { ...JOB_OPTS, jobId: jobIds.apply(plan.id, file, lane), failParentOnFailure: true },
        })),
      ],
    });
  }
}
