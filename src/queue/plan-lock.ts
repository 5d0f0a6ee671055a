/**
 * One run per folder in either mode (issue #18, item 4): a plan in flight holds its folder through
 * the single host's lock file (logfile/folder-lock.ts), naming the plan and its Redis.
 *
 * - `enqueue` takes it when it makes a plan, before it lists the files, as a single-host run
 *   does; held by a live single-host run, nothing is planned (exit 75, naming its pid and host).
 * - The commit of the plan's last file, renamed, releases it (under the enqueue lock, so an
 *   append cannot slip in between). A plan that failed keeps it until the next enqueue, which
 *   finds the plan settled and takes the lock over for its own plan.
 * - A single-host run that finds it asks the plan's Redis (checkPlanLock): still in flight, or a
 *   Redis that does not answer, is held (exit 75, naming the plan and how to see it); settled
 *   (or gone from that Redis) is stale, and the run takes the folder over.
 */
import type { Redis } from 'ioredis';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FolderLockedError } from '../errors.js';
import { acquireFolderLock, LOCK_FILE, patternFolder, RETRY_HINT, selfHolder, type FolderLock, type PlanCheck, type PlanRef } from '../logfile/folder-lock.js';
import { inFlight, readPlan, underEnqueueLock, type Plan } from './plan.js';
import { Queues } from './queues.js';
import { connectRedis, redisLabel } from './redis.js';

export function planRef(plan: Pick<Plan, 'id' | 'created'>, redisUrl: string): PlanRef {
  return { id: plan.id, created: plan.created, redis: redisLabel(redisUrl) };
}

/** Settled: the plan is gone from this Redis (or is another plan of that id), or no job of it is left. */
async function settledIn(queues: Queues, ref: PlanRef): Promise<boolean> {
  const plan = await readPlan(queues.redis, ref.id);
  if (plan === null || plan.created !== ref.created) return true;
  return !(await inFlight(queues, plan));
}

/**
 * What a run that finds a plan's lock asks: that plan's Redis. The lock holds no password, so
 * MEMC_LOAD_REDIS is used instead when it names the same Redis (the same URL but for it).
 */
export const checkPlanLock: PlanCheck = async (ref) => {
  const env = process.env['MEMC_LOAD_REDIS'];
  const url = env !== undefined && redisLabel(env) === ref.redis ? env : ref.redis;
  let redis: Redis;
  try {
    redis = await connectRedis({ url, timeoutMs: 3000 });
  } catch (err) {
    return { settled: false, note: `its Redis could not be asked whether it is still in flight (${(err as Error).message}), so it counts as in flight` };
  }
  const queues = new Queues(redis);
  try {
    return { settled: await settledIn(queues, ref) };
  } finally {
    await queues.close().catch(() => {});
    redis.disconnect();
  }
};

/** Checks a plan lock through this command's own connection when it names this Redis. */
function checkVia(queues: Queues, redisUrl: string): PlanCheck {
  return async (ref) => (ref.redis === redisLabel(redisUrl) ? { settled: await settledIn(queues, ref) } : checkPlanLock(ref));
}

/**
 * Takes the folder for a plan about to be made (`plan` before it is written), or throws
 * FolderLockedError naming the holder. Null when the folder does not exist (nothing to plan).
 */
export async function takePlanLock(queues: Queues, plan: Pick<Plan, 'id' | 'created' | 'options'>, redisUrl: string): Promise<FolderLock | null> {
  const me = { ...selfHolder(plan.options.pattern), plan: planRef(plan, redisUrl) };
  try {
    const acquired = await acquireFolderLock(patternFolder(plan.options.pattern), me, checkVia(queues, redisUrl));
    return acquired?.lock ?? null;
  } catch (err) {
    // enqueue has no --wait-lock: its caller tries again later.
    if (err instanceof FolderLockedError) throw new FolderLockedError(err.message.replace(RETRY_HINT, '; enqueue again later'), { file: err.file, cause: err });
    throw err;
  }
}

/** The plan named by the folder's lock file, or null (no lock, another holder, unreadable). */
async function lockedPlan(plan: Plan): Promise<PlanRef | null> {
  try {
    const text = await readFile(join(patternFolder(plan.options.pattern), LOCK_FILE), 'utf8');
    return (JSON.parse(text) as { plan?: PlanRef }).plan ?? null;
  } catch {
    return null;
  }
}

const same = (a: PlanRef | null, plan: Plan) => a !== null && a.id === plan.id && a.created === plan.created;

/**
 * Before files are appended to a plan in flight: the folder must still be this plan's. A lock
 * someone removed is taken again; held by another run, the append waits (throws).
 */
export async function keepPlanLock(queues: Queues, plan: Plan, redisUrl: string): Promise<void> {
  if (same(await lockedPlan(plan), plan)) return;
  await takePlanLock(queues, plan, redisUrl);
}

/**
 * After the commit of `file`: if it was the plan's last file, every file of the plan is renamed
 * and the folder is free. Done under the enqueue lock, which an append holds while it adds
 * files; if that is busy, the lock stays, and the next enqueue or run finds the plan settled.
 */
export async function releaseIfLast(redis: Redis, planId: string, file: string): Promise<void> {
  await underEnqueueLock(redis, 0, async () => {
    const plan = await readPlan(redis, planId);
    if (plan === null || plan.files[plan.files.length - 1] !== file || !same(await lockedPlan(plan), plan)) return;
    await unlink(join(patternFolder(plan.options.pattern), LOCK_FILE)).catch(() => undefined);
  });
}
