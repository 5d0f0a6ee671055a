/**
 * Every name memc-load gives things in Redis, in one place: the queues, the job ids, the plan's
 * keys. BullMQ refuses `:` in queue names and job ids, and a node's label is `host:port`, so
 * labels are written with `_` there; the label itself travels in the job's data.
 */
import { fileKey } from '../logfile/file-key.js';

/** BullMQ's key prefix for memc-load's queues (its keys are `memc-load:<queue>:…`). */
export const PREFIX = 'memc-load';

export const SPLIT_QUEUE = 'split';
export const COMMIT_QUEUE = 'commit';

/** One apply queue per memcached node (lane): global concurrency 1 keeps the node's files in order. */
export function applyQueue(lane: string): string {
  return `apply-${lane.replace(/[^A-Za-z0-9._\-[\]]/g, '_')}`;
}

/** Plain Redis keys beside BullMQ's. */
export const KEYS = {
  /** The id of the plan now in flight (or the last one), a string. */
  current: `${PREFIX}:plan:current`,
  /** INCR'd for each new plan: plan ids are p1, p2, … */
  seq: `${PREFIX}:plan:seq`,
  /** SET NX: one enqueue at a time plans or appends. */
  enqueueLock: `${PREFIX}:enqueue:lock`,
  /** Every lane (node label) any plan used: the workers open an apply queue for each. */
  lanes: `${PREFIX}:lanes`,
  plan: (id: string) => `${PREFIX}:plan:${id}`,
  /** Hash file path → JSON FileRecord: what happened to each file of the plan. */
  files: (id: string) => `${PREFIX}:plan:${id}:files`,
  /** Set of the plan's committed (renamed) files' paths. */
  committed: (id: string) => `${PREFIX}:plan:${id}:committed`,
  /** The path of the plan's first file to fail, once one has (SET NX). */
  failed: (id: string) => `${PREFIX}:plan:${id}:failed`,
  /** Hash lane → the path of the file whose apply failed first on it in this plan. */
  laneFailed: (id: string) => `${PREFIX}:plan:${id}:lane-failed`,
  /** Hash lane → JSON { pid, uptime, at, index }: the node as the plan's first write to it left it. */
  laneNode: (id: string) => `${PREFIX}:plan:${id}:lane-node`,
  /** Hash lane → JSON { from, text }: a node lost (restarted, unreadable), and the plan's first file it held. */
  lost: (id: string) => `${PREFIX}:plan:${id}:lost`,
  /** SET NX with an expiry: one commit or rename-back at a time decides and renames. */
  renames: (id: string) => `${PREFIX}:plan:${id}:renames`,
  /** List of events a person reading `status` needs (takeovers, failures), newest last. */
  events: (id: string) => `${PREFIX}:plan:${id}:events`,
};

/**
 * Job ids carry the plan: the same file in a later plan (a re-plan after a failure) is a new job.
 * And the file's path (fileKey: its name and a hash of its path): a/X and b/X are two files.
 */
/** BullMQ's lock of an active job: its worker's token, with an expiry the worker renews. */
export function jobLockKey(queue: string, jobId: string): string {
  return `${PREFIX}:${queue}:${jobId}:lock`;
}

export const jobIds = {
  split: (plan: string, file: string) => `${plan}.split.${fileKey(file)}`,
  apply: (plan: string, file: string, lane: string) => `${plan}.apply.${fileKey(file)}.${lane.replace(/:/g, '_')}`,
  commit: (plan: string, file: string) => `${plan}.commit.${fileKey(file)}`,
};
