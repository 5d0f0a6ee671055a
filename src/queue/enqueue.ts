/**
 * `memc-load enqueue`: plans the pending files, oldest first (plan.ts has the shape of a plan).
 *
 * - No plan in flight: a new plan of every pending file. After a failure that is the re-plan
 *   from the earliest pending file: the failed file and every later one are still pending.
 * - A plan in flight that has not failed: the files newer than its last are appended to it.
 * - A plan in flight that has failed: nothing is enqueued (`busy`). Its later files fail as held
 *   back as their jobs finish; once it has settled, enqueue again re-plans.
 * - Late files (logfile/pending.ts selectPending, the single host's rule, with the plan in flight)
 *   are planned only with --load-late; names that are not UTF-8 never: the result lists both.
 *
 * One enqueue at a time does this, under a Redis lock (plan.ts underEnqueueLock). A plan holds
 * its folder's lock file as a single-host run does (plan-lock.ts): a folder a single-host run
 * holds is not planned (`busy`, naming its pid and host).
 */
import type { RunOptions } from '../config/options.js';
import { ERROR_CODES, MemcLoadError } from '../errors.js';
import { selectPending, type Selection } from '../logfile/pending.js';
import { applyQueue, COMMIT_QUEUE, KEYS, SPLIT_QUEUE } from './names.js';
import { keepPlanLock, takePlanLock } from './plan-lock.js';
import { currentPlan, fileName, fileRecords, fileState, inFlight, jobIds, legacyPlan, planLanes, underEnqueueLock, writePlan, type ApplyData, type CommitData, type LateFile, type Plan, type SplitData } from './plan.js';
import type { Queues } from './queues.js';

/** `late`: pending files held back as late (not planned): the operator decides (--load-late). */
export type EnqueueResult =
  | { readonly kind: 'nothing'; readonly plan: string | null; readonly late: readonly LateFile[] }
  | { readonly kind: 'planned' | 'appended'; readonly plan: string; readonly files: readonly string[]; readonly late: readonly LateFile[] }
  | { readonly kind: 'busy'; readonly plan: string; readonly why: string };

/** A job's own retries would put it at the back of its queue, behind later files: it has one attempt, and retries inside. */
const JOB_OPTS = { attempts: 1, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } } as const;

/** `redisUrl`: this enqueue's --redis, named (without its password) in the folder's lock. */
export async function enqueue(queues: Queues, options: RunOptions, spool: string, spoolAhead: number, redisUrl: string): Promise<EnqueueResult> {
  const r = await underEnqueueLock(queues.redis, 10_000, async () => {
    try {
      return await planLocked(queues, options, spool, spoolAhead, redisUrl);
    } catch (err) {
      // The folder is another run's (a single-host run, or another Redis's plan): try again later.
      if (err instanceof MemcLoadError && err.code === ERROR_CODES.LOCKED) return { kind: 'busy', plan: (await queues.redis.get(KEYS.current)) ?? '-', why: err.message } as const;
      throw err;
    }
  });
  return r === 'busy' ? { kind: 'busy', plan: (await queues.redis.get(KEYS.current)) ?? '?', why: 'another enqueue has been planning for 10 s' } : r;
}

async function planLocked(queues: Queues, options: RunOptions, spool: string, spoolAhead: number, redisUrl: string): Promise<EnqueueResult> {
  const plan = await currentPlan(queues.redis);
  if (plan !== null && (await inFlight(queues, plan))) {
    const legacy = legacyPlan(plan);
    if (legacy !== null) return { kind: 'busy', plan: plan.id, why: legacy };
    const failed = await firstFailure(queues, plan);
    if (failed !== null) {
      return { kind: 'busy', plan: plan.id, why: `plan ${plan.id} failed at ${failed.file} (${failed.reason}) and its jobs are still finishing; enqueue again once \`memc-load status\` shows it settled` };
    }
    if (JSON.stringify(planLanes(options)) !== JSON.stringify(plan.lanes) || spool !== plan.spool) {
      return { kind: 'busy', plan: plan.id, why: `plan ${plan.id} in flight loads with other servers or another spool; enqueue these once it has settled` };
    }
    await keepPlanLock(queues, plan, redisUrl);
    const { load: newer, late } = notPlanned(await selectPending(options.pattern, options.loadLate, { planned: { id: plan.id, files: plan.files, inFlight: true } }));
    if (newer.length === 0) return { kind: 'nothing', plan: plan.id, late };
    const next: Plan = { ...plan, files: [...plan.files, ...newer] };
    // The plan first: an enqueue that dies half-way leaves files listed whose flows a later
    // enqueue adds (addFlows skips those that exist), never flows no plan lists.
    await writePlan(queues.redis, next);
    await addFlows(queues, next, plan.files.length);
    return { kind: 'appended', plan: plan.id, files: newer, late };
  }
  // The folder first, then its files, as a single-host run does (under the enqueue lock, no other
  // enqueue takes the next id meanwhile).
  const seq = Number((await queues.redis.get(KEYS.seq)) ?? 0) + 1;
  const made = { id: `p${seq}`, created: new Date().toISOString(), options };
  const lock = await takePlanLock(queues, made, redisUrl);
  // Nothing pending and nothing in flight: the folder says every file is done, whatever an
  // earlier plan's verdict was, so there is nothing to wait for.
  const { load, late } = notPlanned(await selectPending(options.pattern, options.loadLate));
  if (load.length === 0) {
    await lock?.release();
    return { kind: 'nothing', plan: null, late };
  }
  await queues.redis.set(KEYS.seq, seq);
  const next: Plan = { ...made, spool, spoolAhead, lanes: planLanes(options), files: load, fileKeys: 'path' };
  await writePlan(queues.redis, next);
  await queues.redis.sadd(KEYS.lanes, ...next.lanes);
  for (const lane of next.lanes) await queues.get(applyQueue(lane)).setGlobalConcurrency(1);
  await queues.redis.set(KEYS.current, next.id);
  await addFlows(queues, next, 0);
  return { kind: 'planned', plan: next.id, files: load, late };
}

/**
 * The selection as enqueue reports it: what it plans, and every pending file it leaves, late or
 * with a name that is not UTF-8 (with the `mv` that fixes it), as "not planned" lines.
 */
function notPlanned(sel: Selection): { load: readonly string[]; late: LateFile[] } {
  return { load: sel.load, late: sel.notLoaded.map((n) => ({ file: n.path, reason: n.why })) };
}

/** The plan's first failed file, in file order (see fileState: recorded, or passed up to its commit). */
async function firstFailure(queues: Queues, plan: Plan): Promise<{ file: string; reason: string } | null> {
  const records = await fileRecords(queues.redis, plan.id);
  for (const file of plan.files) {
    const { state, detail } = await fileState(queues, plan, file, records.get(file));
    if (state === 'failed') return { file: fileName(plan, file), reason: detail ?? 'failed' };
  }
  return null;
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
