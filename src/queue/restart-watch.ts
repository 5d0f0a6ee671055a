/**
 * The cluster's restart watch: what the single host's RestartGuard (pipeline/restart-undo.ts)
 * does in one process, done across a plan's jobs, with the same rule (memcached/restart-rule.ts)
 * and the same renaming back (logfile/rename-back.ts):
 *
 *   apply(F, node)  the plan's first acknowledged write to a node leaves the node's identity in
 *                   the plan (pid and uptime, timed by the node's own clock) with F's index;
 *                   a later apply compares its own reading with it
 *   commit(F)       reads every node the plan wrote to again, after F's applies, before F's rename
 *
 * A node is lost when it restarted since, or when its identity cannot be read (refusing, frozen)
 * after it acknowledged writes of the plan: a lost server counts as restarted until shown
 * otherwise. Then the plan's first file it held, and every later file, fail to load; those
 * already renamed are renamed back, newest first, or the log and `status` give the exact `mv`.
 *
 * Deciding and renaming happen under one lock per plan in Redis (`renames`): a commit that
 * renames and a job that renames back cannot interleave, so no file stays renamed after a loss
 * from it on was recorded. Under that lock a commit also checks that it still holds its job: a
 * commit whose lock lapsed (its worker stalled, or Redis restarted and forgot it) has been run
 * again or failed, and must not rename anything after the fact (issue #18 item 9).
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApplyResult } from '../cluster/stages.js';
import { DEVICE_TYPES, type ServerAddress } from '../config/servers.js';
import { failFrom, undoFrom } from '../contract/commit.js';
import { lossOf, nodeState, readNodes, type Loss, type NodeState } from '../contract/node-loss.js';
import { undoRenames } from '../logfile/rename-back.js';
import { stats } from '../memcached/admin.js';
import { identityOf, type Identity } from '../memcached/restart-rule.js';
import { jobLockKey, KEYS } from './names.js';
import { planEvent, readPlan, recordRenamedBack, renamed, type Plan } from './plan.js';

/** The node as the plan's first write to it left it. */
interface First extends Identity {
  readonly index: number;
  readonly file: string;
}

export type { Loss } from '../contract/node-loss.js';

/** How long the renames lock lasts if its holder dies; its work takes milliseconds. */
const LOCK_MS = 20_000;

/**
 * After apply(F) on `lane`: records the node's identity at the plan's first write to it, or
 * compares with it. Returns why F (and the plan's files the node held) must fail, or null.
 */
export async function watchApply(redis: Redis, plan: Plan, file: string, lane: string, r: ApplyResult, log: (m: string) => void): Promise<string | null> {
  const first = await firstOf(redis, plan.id, lane);
  const acked = r.batchesAcknowledged > 0;
  if (first === null && !acked) return null;
  const now = r.node ?? (await readIdentity(plan, lane));
  const index = await indexOf(redis, plan, file);
  if (first === null) {
    // The apply's own error fails F; no earlier file of the plan had anything on this node.
    if (r.error !== null) return null;
    if (now !== null) {
      const entry: First = { ...now, index, file: basename(file) };
      await redis.hsetnx(KEYS.laneNode(plan.id), lane, JSON.stringify(entry));
      return null;
    }
    const text = `memcached ${lane} acknowledged writes of ${basename(file)} but its stats cannot be read since: a lost server counts as restarted`;
    return lose(redis, plan, [{ lane, from: index, text }], log);
  }
  const loss = compare(lane, first, now);
  return loss === null ? null : lose(redis, plan, [loss], log);
}

/** Every node the plan wrote to, read again now: the ones lost since. Reads only; records nothing. */
export async function checkNodes(redis: Redis, plan: Plan): Promise<Loss[]> {
  const firsts = new Map(Object.entries(await redis.hgetall(KEYS.laneNode(plan.id))).map(([lane, text]) => [lane, JSON.parse(text) as First]));
  const states = await readNodes(firsts, (lane) => readIdentity(plan, lane));
  return [...states].map(([lane, state]) => lossIn(lane, firsts.get(lane) as First, state)).filter((l): l is Loss => l !== null);
}

/**
 * Under the renames lock: records `losses`, renames back the plan's renamed files from the
 * earliest loss on, newest first (contract/commit.ts failFrom and undoFrom say which), and returns every
 * loss of the plan with why files from `failFrom` on fail (null, with `failFrom` Infinity, when
 * no node of the plan was lost).
 */
export async function settleLosses(redis: Redis, plan: Plan, losses: readonly Loss[], log: (m: string) => void): Promise<{ failFrom: number; losses: readonly Loss[]; why: string | null }> {
  for (const l of losses) await redis.hsetnx(KEYS.lost(plan.id), l.lane, JSON.stringify({ from: l.from, text: l.text }));
  const all: Loss[] = Object.entries(await redis.hgetall(KEYS.lost(plan.id))).map(([lane, t]) => ({ lane, ...(JSON.parse(t) as { from: number; text: string }) }));
  if (all.length === 0) return { failFrom: Number.POSITIVE_INFINITY, losses: all, why: null };
  const texts = all.map((l) => l.text).join('; ');
  const why = `${texts}; this file and every later one stay pending: enqueue again once the plan has settled`;
  const files = (await readPlan(redis, plan.id))?.files ?? plan.files;
  const from = failFrom(all);
  // Only files the losses reach are asked on disk: the earlier ones stay as they are.
  const finalized = await Promise.all(files.map(async (path, index) => ({ index, path, renamed: index >= from && (await renamed(path)) })));
  for (const u of await undoRenames(undoFrom(from, finalized))) {
    const name = basename(u.path);
    if (u.undone) {
      await recordRenamedBack(redis, plan.id, u.path, `renamed back: ${texts}`);
      await planEvent(redis, plan.id, `${name}: renamed back to pending (${texts})`);
      log(`${name}: renamed back to pending: ${texts}`);
    } else {
      const text = `${name} stays marked done though its records may be gone (${u.why}): run \`${u.command}\`, then enqueue again`;
      await recordRenamedBack(redis, plan.id, u.path, text);
      await planEvent(redis, plan.id, text);
      log(text);
    }
  }
  return { failFrom: from, losses: all, why };
}

/** Runs `fn` holding the plan's renames lock (SET NX with an expiry, released by compare-and-delete). */
export async function withRenames<T>(redis: Redis, planId: string, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + 3 * LOCK_MS;
  while ((await redis.set(KEYS.renames(planId), token, 'PX', LOCK_MS, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`plan ${planId}: the renames lock (${KEYS.renames(planId)}) has been held for ${(3 * LOCK_MS) / 1000} s; is a worker stuck?`);
    await sleep(25);
  }
  try {
    return await fn();
  } finally {
    await redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, KEYS.renames(planId), token);
  }
}

/** Whether `job` of `queue` still holds its BullMQ lock under `token`: no one has taken it over. */
export async function holdsLock(redis: Redis, queue: string, job: Job, token: string | undefined): Promise<boolean> {
  return token !== undefined && (await redis.get(jobLockKey(queue, job.id as string))) === token;
}

/** Records the losses and renames back; returns the reason that fails the file at hand. */
async function lose(redis: Redis, plan: Plan, losses: readonly Loss[], log: (m: string) => void): Promise<string> {
  const { why } = await withRenames(redis, plan.id, () => settleLosses(redis, plan, losses, log));
  return why ?? losses.map((l) => l.text).join('; ');
}

function compare(lane: string, first: First, now: Identity | null): Loss | null {
  return lossIn(lane, first, nodeState(first, now));
}

/** The cluster's wording of a node's loss (contract/node-loss.ts decides it). */
function lossIn(lane: string, first: First, state: NodeState): Loss | null {
  const since = `since ${first.file} was applied on it`;
  return lossOf(lane, { index: first.index, file: first.file, ackAt: null }, state, (s) =>
    s.kind === 'lost'
      ? `memcached ${lane} cannot be read ${since}: a lost server counts as restarted, and what this plan stored there from ${first.file} on may be gone`
      : `memcached ${lane} restarted ${since} (${s.restart.evidence}): it lost what this plan stored there from ${first.file} on`,
  );
}

async function firstOf(redis: Redis, plan: string, lane: string): Promise<First | null> {
  const text = await redis.hget(KEYS.laneNode(plan), lane);
  return text === null ? null : (JSON.parse(text) as First);
}

/** The node's identity now, or null when it cannot be read (refused, timed out, not memcached). */
async function readIdentity(plan: Plan, lane: string): Promise<Identity | null> {
  const address = addressOf(plan, lane);
  if (address === undefined) return null;
  return stats(address, plan.options.responseTimeoutMs).then(identityOf, () => null);
}

function addressOf(plan: Plan, lane: string): ServerAddress | undefined {
  for (const t of DEVICE_TYPES) for (const n of plan.options.servers[t].nodes) if (n.label === lane) return n;
  return undefined;
}

/** The file's place in the plan; a worker's cached plan may predate an append. */
export async function indexOf(redis: Redis, plan: Plan, file: string): Promise<number> {
  const i = plan.files.indexOf(file);
  if (i >= 0) return i;
  const fresh = await readPlan(redis, plan.id);
  const j = fresh?.files.indexOf(file) ?? -1;
  if (j < 0) throw new Error(`${file} is not in plan ${plan.id}`);
  return j;
}
