/**
 * What a worker does with each job. The data work is the cluster stages' (cluster/stages.ts);
 * here is only order, ownership and the verdict.
 *
 * - split(F): splitFile, idempotent, so a job run twice (a stalled worker) costs time, not data.
 * - apply(F, lane): waits for F's manifest while holding its lane (its queue runs one job at a
 *   time, so F+1 cannot pass), then applySegment with a lease on the job's lock (read before the
 *   first batch and in the background; each batch and write checks the clock against it): a
 *   worker that lost its lock (its event loop stalled, or Redis thought it dead) stops writing,
 *   and the job's new owner rewrites the segment from its start.
 * - commit(F): runs once every child succeeded (a failed child fails it first: the flow's
 *   failParentOnFailure). Renames F only once F−1 is renamed; F−1 failed holds F back. Before
 *   the rename it reads every node the plan wrote to: one lost since fails F and renames back
 *   the plan's files it held (restart-watch.ts), as the single host's RestartGuard does.
 *
 * Every processor throws UnrecoverableError for a verdict: with `attempts: 1` BullMQ would not
 * retry anyway, and the name says so in the job's failedReason.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyHandOff, applySegment, fileVerdict, markDone, readManifest, removeSpool, splitFile, type ApplyResult, type SplitManifest } from '../cluster/stages.js';
import { decide } from '../contract/commit.js';
import { defaultWorkers } from '../config/defaults.js';
import { MemcLoadError } from '../errors.js';
import { HandOffFailed, type HandOffs, type HandOffSource } from '../cluster/hand-off.js';
import type { KeptConnections } from '../cluster/kept-conn.js';
import type { Logger } from '../report/logger.js';
import { leaseGuard, nodeFence } from './apply-fence.js';
import { applyQueue, COMMIT_QUEUE, jobIds, jobLockKey, KEYS, SPLIT_QUEUE } from './names.js';
import { releaseIfLast } from './plan-lock.js';
import { committedCount, fileName, legacyPlan, planEvent, renamed, readPlan, recordFile, type ApplyData, type CommitData, type Plan, type SplitData } from './plan.js';
import type { Queues } from './queues.js';
import { bullmq } from './cjs.js';
import { checkNodes, holdsLock, indexOf, settleLosses, watchApply, withRenames } from './restart-watch.js';

const { DelayedError, UnrecoverableError, WaitingError } = bullmq;

export interface WorkerContext {
  readonly queues: Queues;
  /** Set on SIGTERM: an apply still waiting for its split hands its lane back instead. */
  readonly closing: () => boolean;
  readonly log: (message: string) => void;
  /** The split's samples of rejected lines, as the loader logs them (--log-rejected of the plan). */
  readonly logger: Logger;
  /** Encoder threads for a split of a plan with this `--workers`: this process's share of the host (host-share.ts). */
  readonly splitThreads?: (planWorkers: number | 'auto') => number | 'auto';
  /** Each node's connection, kept from one apply to the next (cluster/kept-conn.ts); absent: one per apply. */
  readonly conns?: KeptConnections;
  /** The applies waiting here for their splits, which a split here feeds directly (cluster/hand-off.ts); absent: all through the spool. */
  readonly handOffs?: HandOffs;
  /** Serve every node's apply queue that some plan names, now (not at the next poll): a split's lanes. */
  readonly serveLanes?: () => Promise<void>;
}

/** An ApplyResult as JSON can carry it (a job's return value): the error as code and message. */
export type StoredApply = Omit<ApplyResult, 'error'> & { readonly error: { readonly code: string; readonly message: string } | null };

const plans = new Map<string, Plan>();

async function planOf(redis: Redis, id: string): Promise<Plan> {
  let p = plans.get(id);
  // Appends change a plan's files, never its options: the cached one is good for the options.
  if (p === undefined) {
    const read = await readPlan(redis, id);
    if (read === null) throw new UnrecoverableError(`plan ${id} is gone from Redis; enqueue again`);
    plans.set(id, (p = read));
  }
  const legacy = legacyPlan(p);
  if (legacy !== null) {
    // Its job ids and records are keyed by base name: run here, a/X and b/X would be one again.
    throw new UnrecoverableError(legacy);
  }
  return p;
}

export async function splitJob(ctx: WorkerContext, job: Job<SplitData>, token: string | undefined): Promise<{ lines: number; records: number; verdict: string }> {
  const redis = ctx.queues.redis;
  const plan = await planOf(redis, job.data.plan);
  // At most spoolAhead files split past the first one not committed. That one is always within
  // reach, so the plan always moves; a split put off goes to the delayed set and lets go of its slot.
  const committed = await committedCount(redis, plan.id);
  if (job.data.index >= committed + plan.spoolAhead) {
    const failedAt = await redis.get(KEYS.failed(plan.id));
    if (failedAt !== null) {
      // Nothing from failedAt on will be renamed in this plan: splitting further is work for nothing.
      const reason = `held back by ${fileName(plan, failedAt)}, which failed to load: it will be reloaded after it`;
      await recordFile(redis, plan.id, job.data.file, { state: 'failed', outcome: null, reason, at: new Date().toISOString() });
      throw new UnrecoverableError(reason);
    }
    await job.moveToDelayed(Date.now() + 250, token);
    throw new DelayedError();
  }
  await noteTakeover(ctx, job, `split ${fileName(plan, job.data.file)}`);
  // The host-share rule (host-share.ts): auto stays auto only for a split with the host to itself.
  const workers = ctx.splitThreads?.(plan.options.workers) ?? (plan.options.workers === 'auto' ? defaultWorkers() : plan.options.workers);
  const mode = workers === 'auto' ? 'inline until encoder threads pay (auto)' : workers === 0 ? 'parsing inline' : `${workers} encoder thread(s)`;
  const name = fileName(plan, job.data.file);
  ctx.log(`split ${name}: started (${mode})`);
  const handOffs = ctx.handOffs;
  const handOff = handOffs === undefined ? undefined : async (lanes: readonly string[], make: (server: string) => HandOffSource) => {
    // A worker started before the plan serves its nodes' queues from its next poll: now, so
    // that the first file's applies can be fetched here and offered.
    await ctx.serveLanes?.().catch(() => {});
    const claimed = await handOffs.claim(plan.id, job.data.file, plan.files[job.data.index - 1] ?? null, lanes, make);
    const spooled = lanes.filter((l) => !claimed.has(l));
    if (claimed.size > 0) ctx.log(`split ${name}: hands ${[...claimed.keys()].join(', ')} straight to their applies here${spooled.length > 0 ? `; ${spooled.join(', ')} to the spool` : ''}`);
    return claimed;
  };
  try {
    const m = await splitFile(job.data.file, plan.spool, { ...plan.options, workers }, { logger: ctx.logger, ...(handOff === undefined ? {} : { handOff }) });
    return { lines: m.lines, records: m.records, verdict: m.verdict };
  } catch (err) {
    if (err instanceof HandOffFailed && err.lostOwnership) {
      // The apply whose lease ran out runs again and finds no manifest: this split must run again too.
      await planEvent(redis, plan.id, `split ${name}: ${err.message}`);
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const reason = describe(err);
    await recordFile(ctx.queues.redis, plan.id, job.data.file, { state: 'failed', outcome: 'failed_load', reason: `split: ${reason}`, at: new Date().toISOString() });
    throw new UnrecoverableError(reason);
  }
}

export async function applyJob(ctx: WorkerContext, job: Job<ApplyData>, token: string | undefined): Promise<StoredApply> {
  // A split here that is about to start waits for this apply's offer rather than spool its lane.
  ctx.handOffs?.starting(job.data.plan, job.data.file, job.data.lane);
  try {
    return await startApply(ctx, job, token);
  } finally {
    ctx.handOffs?.ended(job.data.plan, job.data.file, job.data.lane);
  }
}

async function startApply(ctx: WorkerContext, job: Job<ApplyData>, token: string | undefined): Promise<StoredApply> {
  const { plan: planId, file, lane } = job.data;
  const redis = ctx.queues.redis;
  const plan = await planOf(redis, planId);
  const name = fileName(plan, file);
  // The first failure on a node holds back its later files at once: the node is down or
  // refusing, and each would spend --retries finding that out again.
  const failedBefore = await redis.hget(KEYS.laneFailed(planId), lane);
  if (failedBefore !== null && failedBefore !== file) {
    const reason = `held back by ${fileName(plan, failedBefore)}, which failed to load on ${lane}: it will be reloaded after it`;
    await recordFile(redis, planId, file, { state: 'failed', outcome: null, reason, at: new Date().toISOString() });
    throw new UnrecoverableError(reason);
  }
  await noteTakeover(ctx, job, `apply ${name} on ${lane}`);
  ctx.log(`apply ${name} on ${lane}: started`);
  const fed = await waitForSplit(ctx, job, token, plan);
  // Until it settles, the split that feeds this apply (if one does) keeps its manifest back.
  const settle = (clean: boolean, lostOwnership: boolean, why: string | null) => fed.source?.settle({ clean, lostOwnership, why });
  try {
    return await applyFed(ctx, job, token, plan, fed, settle);
  } catch (err) {
    settle(false, false, `its apply stopped: ${(err as Error).message}`);
    throw err;
  }
}

type Fed = { readonly manifest: SplitManifest; readonly source?: undefined } | { readonly source: HandOffSource; readonly manifest?: undefined };

async function applyFed(ctx: WorkerContext, job: Job<ApplyData>, token: string | undefined, plan: Plan, fed: Fed, settle: (clean: boolean, lost: boolean, why: string | null) => void): Promise<StoredApply> {
  const { plan: planId, file, lane } = job.data;
  const redis = ctx.queues.redis;
  const name = fileName(plan, file);
  const lockKey = jobLockKey(applyQueue(lane), job.id as string);
  const fence = nodeFence(redis, lane, { id: job.id as string, lockKey, token, what: `apply ${name} on ${lane}` });
  const guard = leaseGuard(redis, lockKey, token);
  const hooks = { fence, ...(ctx.conns === undefined ? {} : { kept: ctx.conns }) };
  if (fed.source !== undefined) ctx.log(`apply ${name} on ${lane}: fed by its split here`);
  const r = fed.source !== undefined ? await applyHandOff(file, fed.source, plan.options, guard, hooks) : await applySegment(fed.manifest, lane, plan.options, guard, hooks);
  const stored: StoredApply = { ...r, error: r.error === null ? null : { code: r.error.code, message: r.error.message } };
  // A job another worker took over meanwhile (this one was paused past its lock) is not ours to
  // judge: its error (the new owner's commit may have removed the spool it reads) must not fail
  // the file nor hold back the node. The new owner rewrites the lane from its first batch.
  const still = await holdsLock(redis, applyQueue(lane), job, token);
  // Anything but a clean end opens the node's next apply a new connection, as before.
  if (r.lostOwnership || !still || r.error !== null) ctx.conns?.drop(lane);
  if (r.lostOwnership || !still) {
    settle(false, true, `${still ? 'its lease ran out' : 'its lock was lost'} mid-apply`);
    // A lease that ran out while the lock is still ours (a stalled event loop, a slow Redis) hands
    // the job back to the head of its queue, as SIGTERM does: it runs again, fenced like a takeover.
    await planEvent(redis, planId, `apply ${name} on ${lane}: ${still ? 'lease ran out' : 'lock lost'} mid-apply, stopped writing and reset its connection; ${still ? 'the job runs again' : 'another worker takes it over'}`);
    if (still) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    throw new Error(`lost the lock of apply ${name} on ${lane}; another worker takes it over`);
  }
  const restarted = await watchApply(redis, plan, file, lane, r, ctx.log);
  if (r.error !== null || r.failedWrites > 0 || restarted !== null) {
    const reason = restarted ?? r.error?.message ?? `${r.failedWrites} failed write(s) on ${lane}`;
    settle(false, false, reason);
    await redis.hsetnx(KEYS.laneFailed(planId), lane, file);
    await recordFile(redis, planId, file, { state: 'failed', outcome: 'failed_load', reason, at: new Date().toISOString() });
    await planEvent(redis, planId, `apply ${name} on ${lane} failed: ${reason}`);
    throw new UnrecoverableError(reason);
  }
  settle(true, false, null);
  return stored;
}

/**
 * F's manifest, once split(F) has written it, or F's frames themselves, when split(F) runs in
 * this process and takes this apply's offer (cluster/hand-off.ts). Holding the lane meanwhile is
 * the point: F+1's apply on this node cannot start first. On SIGTERM an apply that has written
 * nothing yet goes back to the head of its queue (BullMQ's moveToWait pushes there), so its lane
 * keeps its order; one a split here has claimed is fed to its end instead.
 */
export async function waitForSplit(ctx: WorkerContext, job: Job<ApplyData>, token: string | undefined, plan: Plan): Promise<Fed> {
  const splits = ctx.queues.get(SPLIT_QUEUE);
  const splitId = jobIds.split(plan.id, job.data.file);
  const offer = ctx.handOffs?.offer(plan.id, job.data.file, job.data.lane);
  // Every way out but the hand-off takes the offer back first; a split that claimed it meanwhile feeds this apply.
  const claimed = async (): Promise<Fed | null> => (offer !== undefined && !offer.withdraw() ? { source: await offer.claimed } : null);
  try {
    for (let round = 0; ; round++) {
      const m = await readManifest(job.data.file, plan.spool);
      // One that handed this lane off is an earlier split's (a plan that failed, enqueued again):
      // this plan's split writes another, since none reuses it (cluster/split.ts).
      if (m !== undefined && m.lanes.find((l) => l.server === job.data.lane)?.handOff !== true) return (await claimed()) ?? { manifest: m };
      if (round % 10 === 0) {
        const split = await splits.getJob(splitId);
        const state = split === undefined ? 'missing' : await split.getState();
        if (state === 'failed') throw new UnrecoverableError(`split of ${fileName(plan, job.data.file)} failed: ${split?.failedReason ?? ''}`);
        if (state === 'completed' || state === 'missing') {
          // The split may have completed after the read above (issue #18, item 8): its manifest is
          // there now. Still none: the input changed since (readManifest calls that stale).
          // One that handed this lane off, from this plan's split: applySegment says what to do.
          const after = await readManifest(job.data.file, plan.spool);
          if (after !== undefined) return (await claimed()) ?? { manifest: after };
          throw new UnrecoverableError(`split of ${fileName(plan, job.data.file)} is ${state} but ${plan.spool} holds no current manifest for it (was the file changed?)`);
        }
      }
      if (ctx.closing()) {
        const fed = await claimed();
        if (fed !== null) return fed;
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const pause = sleep(100).then(() => null);
      const source = await (offer === undefined ? pause : Promise.race([pause, offer.claimed]));
      if (source !== null) return { source };
    }
  } catch (err) {
    // Thrown with the offer claimed: the split waits for this apply, which ends here.
    (await claimed())?.source?.settle({ clean: false, lostOwnership: false, why: `its apply stopped: ${(err as Error).message}` });
    throw err;
  }
}

export async function commitJob(ctx: WorkerContext, job: Job<CommitData>, token: string | undefined): Promise<{ outcome: string; renamed: boolean }> {
  const { plan: planId, file, prev } = job.data;
  const redis = ctx.queues.redis;
  const plan = await planOf(redis, planId);
  const name = fileName(plan, file);
  if (prev !== null && !(await renamed(prev))) {
    const prevJob = await ctx.queues.get(COMMIT_QUEUE).getJob(jobIds.commit(planId, prev));
    const state = prevJob === undefined ? 'missing' : await prevJob.getState();
    // Completed between the two reads: F−1's commit renamed it after the first, so read it again.
    const settledSince = state === 'completed' && (await renamed(prev));
    if (!settledSince && (state === 'failed' || state === 'missing' || state === 'completed')) {
      const reason = `held back by ${fileName(plan, prev)}, which ${state === 'completed' ? 'was loaded but not renamed' : 'failed to load'}: it will be reloaded after it`;
      await recordFile(redis, planId, file, { state: 'failed', outcome: null, reason, at: new Date().toISOString() });
      throw new UnrecoverableError(reason);
    }
    if (!settledSince) {
      // F−1 is still being committed: come back shortly, without holding a commit slot.
      await job.moveToDelayed(Date.now() + 200, token);
      throw new DelayedError();
    }
  }
  if (await renamed(file)) {
    // This commit ran before and died after the rename (a stalled job run again).
    await removeSpool(file, plan.spool);
    await recordFile(redis, planId, file, { state: 'done', outcome: 'succeeded', reason: 'renamed by an earlier run of this commit', at: new Date().toISOString() });
    return { outcome: 'succeeded', renamed: true };
  }
  const manifest = await readManifest(file, plan.spool);
  if (manifest === undefined) throw new UnrecoverableError(`${name}: no current split in ${plan.spool} (was the file changed?)`);
  const children = Object.values(await job.getChildrenValues()) as (StoredApply | { lines: number })[];
  const results = children.filter((c): c is StoredApply => 'server' in c) as unknown as ApplyResult[];
  const { outcome, error } = fileVerdict(manifest, results);
  const counts = {
    lines: manifest.lines,
    records: manifest.records,
    rejected: manifest.rejectedTotal,
    // For the throughput model (docs/cluster.md): the split's wall, and the applies' summed.
    splitSeconds: manifest.seconds,
    applySeconds: results.reduce((n, r) => n + r.seconds, 0),
  };
  // Every node the plan wrote to, read after F's applies and before its rename: one restarted or
  // gone since has lost files of the plan, maybe F's, maybe renamed ones (restart-watch.ts).
  const index = await indexOf(redis, plan, file);
  const losses = await checkNodes(redis, plan);
  const verdict = await withRenames(redis, planId, async (): Promise<{ renamed: boolean; why: string }> => {
    // A commit that lost its lock was run again or failed meanwhile: renaming now would be a second, late verdict.
    if (!(await holdsLock(redis, COMMIT_QUEUE, job, token))) return { renamed: false, why: '' };
    const lost = await settleLosses(redis, plan, losses, ctx.log);
    // Held back by F−1 was told above, before F's results were read (F−1's rename is awaited first).
    const v = decide({ index, outcome, error }, lost.losses, null);
    const reason = v.kind !== 'fail' ? null : v.losses.length > 0 ? (lost.why ?? v.why) : v.why;
    if (reason !== null) {
      await recordFile(redis, planId, file, { state: 'failed', outcome: 'failed_load', reason, ...counts, at: new Date().toISOString() });
      return { renamed: false, why: reason };
    }
    await markDone(file);
    await recordFile(redis, planId, file, { state: 'done', outcome, reason: null, ...counts, at: new Date().toISOString() });
    return { renamed: true, why: '' };
  });
  if (!verdict.renamed) {
    if (verdict.why === '') throw new Error(`commit ${name} lost its lock before renaming (its worker stalled, or Redis restarted): renamed nothing; the job's new run decides`);
    throw new UnrecoverableError(verdict.why);
  }
  await removeSpool(file, plan.spool);
  await releaseIfLast(redis, planId, file);
  ctx.log(`${name}: ${outcome}, renamed (lines=${manifest.lines} records=${manifest.records} rejected=${manifest.rejectedTotal})`);
  return { outcome, renamed: true };
}

/** A job that BullMQ handed back after its worker went quiet: worth a line in `status`. */
async function noteTakeover(ctx: WorkerContext, job: Job, what: string): Promise<void> {
  if (job.attemptsStarted > 1 || job.stalledCounter > 0) {
    await planEvent(ctx.queues.redis, (job.data as { plan: string }).plan, `${what}: taken over after its worker stopped answering (start ${job.attemptsStarted}, stalled ${job.stalledCounter}×)`);
  }
}

function describe(err: unknown): string {
  return err instanceof MemcLoadError ? `${err.message} [${err.code}]` : (err as Error)?.message ?? String(err);
}
