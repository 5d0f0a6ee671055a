/**
 * `memc-load status`: the current plan read back from Redis and the folder. Plain data; the CLI
 * renders it (text for people, --json for scripts and the tests).
 */
import { readLag } from '../logfile/lag.js';
import { byName } from '../logfile/list-files.js';
import { selectPending } from '../logfile/pending.js';
import type { Lag } from '../report/lag.js';
import { applyQueue, KEYS, SPLIT_QUEUE } from './names.js';
import { currentPlan, fileRecords, fileState, inFlight, legacyPlan, type FileRecord, type FileState } from './plan.js';
import type { Queues } from './queues.js';

export type { FileState };

export interface StatusFile {
  readonly file: string;
  readonly state: FileState;
  /** In flight: which step (split, apply, commit); failed: why. */
  readonly detail: string | null;
  /** Done: what its commit recorded (lines, records, rejected, split and apply seconds). */
  readonly record?: FileRecord;
  /** Pending and late (not planned without --load-late): `detail` says why. */
  readonly late?: true;
}

export interface StatusLane {
  readonly lane: string;
  readonly waiting: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
  /** The path of the file whose apply failed first on this node in the plan, if any. */
  readonly failedAt: string | null;
}

export interface Status {
  readonly plan: string | null;
  readonly created: string | null;
  /** No job of the plan is waiting, delayed or running. */
  readonly settled: boolean;
  readonly counts: Readonly<Record<FileState, number>>;
  /** Of the pending files, those held back as late: they wait for the operator (--load-late). */
  readonly late: number;
  /** Why this memc-load cannot tell the plan's files apart (an older memc-load made it), or null. */
  readonly legacy: string | null;
  readonly files: readonly StatusFile[];
  readonly lanes: readonly StatusLane[];
  readonly split: { readonly waiting: number; readonly active: number; readonly completed: number; readonly failed: number };
  /** Takeovers and failures, oldest first. */
  readonly events: readonly string[];
  /** How far behind the plan's folder is (report/lag.ts); null without a plan or when the folder cannot be read. */
  readonly lag: Lag | null;
}

/**
 * Whether the current plan has settled (no job of it waiting, delayed or running): the few job
 * counts readStatus starts with, without its files, folder and lanes. `enqueue --wait` asks this
 * when a job of the plan has ended (queue/plan-events.ts) and reads the whole status once it says
 * so (a whole status every 250 ms was ~0.5 s of CPU over a 14 s plan: issue #19 item 4).
 */
export async function planSettled(queues: Queues): Promise<boolean> {
  const plan = await currentPlan(queues.redis);
  return plan === null || !(await inFlight(queues, plan));
}

export async function readStatus(queues: Queues): Promise<Status> {
  const plan = await currentPlan(queues.redis);
  const counts: Record<FileState, number> = { done: 0, failed: 0, in_flight: 0, pending: 0 };
  if (plan === null) {
    return { plan: null, created: null, settled: true, counts, late: 0, legacy: null, files: [], lanes: [], split: { waiting: 0, active: 0, completed: 0, failed: 0 }, events: [], lag: null };
  }
  // Read before the files: a plan settled now stays settled while they are read, so a settled
  // status never shows a file in flight that finished between the two reads.
  const settled = !(await inFlight(queues, plan));
  const records = await fileRecords(queues.redis, plan.id);
  const files: StatusFile[] = [];
  for (const file of plan.files) {
    const r = records.get(file);
    const { state, detail } = await fileState(queues, plan, file, r);
    counts[state]++;
    files.push(r === undefined ? { file, state, detail } : { file, state, detail, record: r });
  }
  // Files that arrived after the plan was made: pending until the next enqueue, and late ones
  // until the operator decides (the rule enqueue plans by, without --load-late).
  const sel = await selectPending(plan.options.pattern, false, { planned: { id: plan.id, files: plan.files, inFlight: !settled } });
  const unplanned: StatusFile[] = sel.load.map((f) => ({ file: f, state: 'pending', detail: 'not planned yet' }));
  for (const n of sel.notLoaded) unplanned.push(n.late === null ? { file: n.path, state: 'pending', detail: n.why } : { file: n.path, state: 'pending', detail: n.why, late: true });
  files.push(...unplanned.sort((a, b) => byName(a.file, b.file)));
  counts.pending += sel.load.length + sel.notLoaded.length;
  const late = sel.notLoaded.filter((n) => n.late !== null);
  const laneFailed = await queues.redis.hgetall(KEYS.laneFailed(plan.id));
  const lanes: StatusLane[] = [];
  for (const lane of plan.lanes) {
    const c = await queues.get(applyQueue(lane)).getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
    lanes.push({ lane, waiting: (c['waiting'] ?? 0) + (c['delayed'] ?? 0), active: c['active'] ?? 0, completed: c['completed'] ?? 0, failed: c['failed'] ?? 0, failedAt: laneFailed[lane] ?? null });
  }
  const s = await queues.get(SPLIT_QUEUE).getJobCounts('waiting', 'active', 'completed', 'failed');
  return {
    plan: plan.id,
    created: plan.created,
    settled,
    counts,
    late: late.length,
    legacy: legacyPlan(plan),
    files,
    lanes,
    split: { waiting: s['waiting'] ?? 0, active: s['active'] ?? 0, completed: s['completed'] ?? 0, failed: s['failed'] ?? 0 },
    events: await queues.redis.lrange(KEYS.events(plan.id), 0, -1),
    lag: await readLag(plan.options.pattern, plan.options.loadLate).catch(() => null),
  };
}

/**
 * Worker processes connected now: each runs one split Worker, whose connection BullMQ names
 * after the queue (Queue.getWorkers lists them from CLIENT LIST). A worker killed without a word
 * drops out as soon as Redis sees its connection close.
 */
export async function liveWorkers(queues: Queues): Promise<number> {
  return (await queues.get(SPLIT_QUEUE).getWorkers()).length;
}
