/**
 * A plan: the pending files of one folder, oldest first, and the jobs that load them.
 *
 *   for each file F, in file order, one flow (added atomically by BullMQ's FlowProducer):
 *
 *     commit(F)                    queue `commit`, waits for all its children, then F−1's rename
 *       ├─ split(F)                queue `split`, any worker, any concurrency
 *       ├─ apply(F, node 1)        queue `apply-<node 1>`, global concurrency 1
 *       └─ apply(F, node n)        one per node (lane), in every plan, even with no record for it
 *
 * Adding the flows one after another is what orders each node's queue by file. Job ids carry the
 * plan id, so adding a plan's file twice is a no-op in BullMQ; a new plan is made only when the
 * last one has settled (no job waiting, delayed or active), so a file is never in two plans at
 * once. While a plan is in flight, enqueue appends the newer files to it instead.
 */
import type { Redis } from 'ioredis';
import { access } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { patternFolder } from '../logfile/folder-lock.js';
import { donePath } from '../logfile/mark-done.js';
import type { FileOutcome } from '../report/file-report.js';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyQueue, COMMIT_QUEUE, jobIds, KEYS, SPLIT_QUEUE } from './names.js';
import type { Queues } from './queues.js';

export interface Plan {
  readonly id: string;
  /** ISO time. */
  readonly created: string;
  readonly options: RunOptions;
  readonly spool: string;
  /**
   * Files split ahead of the earliest file not yet committed, at most: when the nodes' ingest is
   * the bottleneck, splits would otherwise run ahead through the whole backlog and fill the spool.
   */
  readonly spoolAhead: number;
  /** Node labels, in lane order, deduplicated (a node named for two types is one lane). */
  readonly lanes: readonly string[];
  /** Absolute paths, oldest first. Appended to, never reordered. */
  readonly files: readonly string[];
  /**
   * 'path': job ids, records and spool folders are keyed by the file's path (issue #18). A plan
   * without it was made by an older memc-load, which keyed them by base name: see legacyPlan.
   */
  readonly fileKeys?: 'path';
}

/**
 * Why this memc-load does not run a plan's jobs (an older memc-load made it, keying files by base
 * name), or null. Its jobs are failed unrun, so its files stay pending; `status` shows its files
 * from the folder alone; once it has settled, the next enqueue makes a new plan.
 */
export function legacyPlan(plan: Plan): string | null {
  if (plan.fileKeys === 'path') return null;
  return `plan ${plan.id} was made by an older memc-load, which named files by their base name; this one does not run its jobs (its files stay pending): once \`memc-load status\` shows it settled, enqueue again`;
}

/**
 * How messages name a plan's file: its path under the pattern's folder (`a/X` for
 * `D/*\/*.tsv.gz`; just the base name for `D/*.tsv.gz`), so files of one name in two folders are
 * told apart without printing whole paths.
 */
export function fileName(plan: Plan, file: string): string {
  return relative(patternFolder(plan.options.pattern), file);
}

export interface SplitData {
  readonly plan: string;
  readonly file: string;
  /** The file's place in the plan (0 for the first). */
  readonly index: number;
}
export interface ApplyData {
  readonly plan: string;
  readonly file: string;
  readonly lane: string;
}
export interface CommitData {
  readonly plan: string;
  readonly file: string;
  /** The plan's previous file: it must be renamed before this one is. Null for the first. */
  readonly prev: string | null;
}

/** What became of a file of a plan, as `status` shows it. */
export interface FileRecord {
  readonly state: 'done' | 'failed';
  readonly outcome: FileOutcome | null;
  /** Why it failed, or how it was held back; null when done. */
  readonly reason: string | null;
  readonly lines?: number;
  readonly records?: number;
  readonly rejected?: number;
  readonly splitSeconds?: number;
  readonly applySeconds?: number;
  readonly at: string;
}

/** The spool beside the input: a dot-folder, so the pattern never selects it. */
export function defaultSpool(pattern: string): string {
  return join(patternFolder(pattern), '.memc-load-spool');
}

export function planLanes(options: RunOptions): string[] {
  const seen = new Set<string>();
  for (const t of DEVICE_TYPES) for (const n of options.servers[t].nodes) seen.add(n.label);
  return [...seen];
}

export async function readPlan(redis: Redis, id: string): Promise<Plan | null> {
  const text = await redis.get(KEYS.plan(id));
  return text === null ? null : (JSON.parse(text) as Plan);
}

export async function currentPlan(redis: Redis): Promise<Plan | null> {
  const id = await redis.get(KEYS.current);
  return id === null ? null : readPlan(redis, id);
}

export async function writePlan(redis: Redis, plan: Plan): Promise<void> {
  await redis.set(KEYS.plan(plan.id), JSON.stringify(plan));
}

/** Files of the plan committed: they commit in order, so this is also the index of the first one not committed. */
export async function committedCount(redis: Redis, plan: string): Promise<number> {
  return redis.scard(KEYS.committed(plan));
}

/**
 * A failure keeps the first reason given (a lane's), not a later one (another lane's, or the
 * commit's). Keyed by the file's path, as the plan lists it.
 */
export async function recordFile(redis: Redis, plan: string, file: string, record: FileRecord): Promise<void> {
  if (record.state === 'failed') {
    await redis.hsetnx(KEYS.files(plan), file, JSON.stringify(record));
    await redis.set(KEYS.failed(plan), file, 'NX');
  } else {
    await redis.hset(KEYS.files(plan), file, JSON.stringify(record));
    await redis.sadd(KEYS.committed(plan), file);
  }
}

/**
 * A file renamed back after a node lost its records: failed again (over its `done` record), no
 * longer committed, and, renamed back newest first, the plan's first failure when the last.
 */
export async function recordRenamedBack(redis: Redis, plan: string, file: string, reason: string): Promise<void> {
  const record: FileRecord = { state: 'failed', outcome: 'failed_load', reason, at: new Date().toISOString() };
  await redis.hset(KEYS.files(plan), file, JSON.stringify(record));
  await redis.srem(KEYS.committed(plan), file);
  await redis.set(KEYS.failed(plan), file);
}

/** A pending file not planned (late, or a name that is not UTF-8), with why: enqueue prints it. */
export interface LateFile {
  readonly file: string;
  readonly reason: string;
}

/** Path → record. */
export async function fileRecords(redis: Redis, plan: string): Promise<Map<string, FileRecord>> {
  const all = await redis.hgetall(KEYS.files(plan));
  return new Map(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as FileRecord]));
}

/** An event for `status` (a takeover, a lane given up): what an operator asks after a night's run. */
export async function planEvent(redis: Redis, plan: string, text: string): Promise<void> {
  await redis.rpush(KEYS.events(plan), `${new Date().toISOString()} ${text}`);
  await redis.ltrim(KEYS.events(plan), -200, -1);
}

/** Done on disk: the dot-name is there and the plain name is not. The folder is the one truth. */
export async function renamed(file: string): Promise<boolean> {
  const exists = (p: string) => access(p).then(() => true, () => false);
  return !(await exists(file)) && (await exists(donePath(file)));
}

/** Any job of any memc-load queue not yet finished (waiting, delayed, active, waiting for children). */
export async function inFlight(queues: Queues, plan: Plan): Promise<boolean> {
  for (const name of [SPLIT_QUEUE, COMMIT_QUEUE, ...plan.lanes.map(applyQueue)]) {
    const c = await queues.get(name).getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'prioritized', 'paused');
    if (Object.values(c).some((n) => n > 0)) return true;
  }
  return false;
}

/**
 * Runs `body` holding the enqueue lock (SET NX with an expiry), which one enqueue at a time holds
 * while it plans or appends: two at once could both see no plan in flight and plan the same files
 * twice. 'busy' when another holder keeps it past `waitMs`.
 */
export async function underEnqueueLock<T>(redis: Redis, waitMs: number, body: () => Promise<T>): Promise<T | 'busy'> {
  const token = randomUUID();
  const deadline = Date.now() + waitMs;
  while ((await redis.set(KEYS.enqueueLock, token, 'PX', 30_000, 'NX')) !== 'OK') {
    if (Date.now() >= deadline) return 'busy';
    await sleep(100);
  }
  try {
    return await body();
  } finally {
    // Compare-and-delete: a lock that expired and was taken by another enqueue is not ours to drop.
    await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, KEYS.enqueueLock, token);
  }
}

export type FileState = 'done' | 'failed' | 'in_flight' | 'pending';

/**
 * A planned file's state: from the record its jobs wrote, else from its commit job (a failure
 * BullMQ passed up from a child with failParentOnFailure has no record), else from the folder.
 * `detail`: why it failed, or which step it is at.
 */
export async function fileState(queues: Queues, plan: Plan, file: string, record: FileRecord | undefined): Promise<{ state: FileState; detail: string | null }> {
  if (record?.state === 'done') return { state: 'done', detail: null };
  if (record?.state === 'failed') return { state: 'failed', detail: record.reason };
  const job = await queues.get(COMMIT_QUEUE).getJob(jobIds.commit(plan.id, file));
  const s = job === undefined ? 'missing' : await job.getState();
  if (s === 'completed') return { state: 'done', detail: null };
  if (s === 'failed') return { state: 'failed', detail: job?.failedReason ?? null };
  if (s === 'missing') return { state: (await renamed(file)) ? 'done' : 'pending', detail: null };
  return { state: 'in_flight', detail: s === 'waiting-children' ? 'splitting/applying' : `commit ${s}` };
}

export { jobIds };
