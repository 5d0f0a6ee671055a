/**
 * One run per folder (issue #10): two runs loading one folder at once let the later-starting one
 * reload older files over newer values. Node has no flock(2), so the lock is a file in the folder,
 * `.memc-load.lock` (a dot file: the glob never selects it), created with O_EXCL and holding who
 * owns it. A holder that died (SIGKILL, OOM, power loss) cannot remove it, so a lock is stale when
 * its holder is on this host and gone: its pid is not running, or now belongs to another process
 * (the start time in /proc differs), or the machine rebooted since (boot id). A holder on another
 * host cannot be checked from here and always counts as holding.
 *
 * Taking over a stale lock is serialised by a second O_EXCL file, `.memc-load.lock.takeover`:
 * under it, the lock is re-read and removed only if it still holds the stale bytes that were
 * judged. Only a dead holder or a takeover ever removes those bytes, so two runs that both find
 * the lock stale cannot both win. A takeover file left by a run that died in those few
 * milliseconds is cleared once it is older than TAKEOVER_STALE_MS.
 *
 * A cluster plan holds the folder too (issue #18, item 4): its lock names the plan and its Redis
 * (`plan`), not a live process: `enqueue` writes it and exits while the workers load. Only that
 * Redis can say whether the plan is still in flight, so such a lock is held unless the caller's
 * `checkPlan` (queue/plan-lock.ts) finds the plan settled.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { isDynamicPattern } from 'tinyglobby';
import { ConfigError, FolderLockedError } from '../errors.js';

export const LOCK_FILE = '.memc-load.lock';
/** Ends the message of a lock held by a live run on this host. */
export const RETRY_HINT = '; try again later, or wait with --wait-lock SECONDS';
/** A lock file that is not our JSON (a torn write, a hand edit) is stale once this old. */
export const GARBAGE_STALE_MS = 5000;
const TAKEOVER_STALE_MS = 10_000;

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time the lock was taken. */
  readonly started: string;
  /** /proc/<pid>/stat field 22 (start time in clock ticks since boot), where there is a /proc. */
  readonly procStart?: string | null;
  readonly bootId?: string | null;
  readonly pattern?: string;
  readonly argv?: readonly string[];
  /** Set when a cluster plan holds the folder: pid and hostname are then the enqueue that took it. */
  readonly plan?: PlanRef;
}

/** A cluster plan, as its folder lock names it. */
export interface PlanRef {
  readonly id: string;
  /** ISO time the plan was made: a plan id reused by another Redis is another plan. */
  readonly created: string;
  /** Its Redis, a URL without password. */
  readonly redis: string;
}

/** Asks a plan's Redis whether the plan has settled; `note` says why that could not be told. */
export type PlanCheck = (plan: PlanRef) => Promise<{ readonly settled: boolean; readonly note?: string }>;

/** How a lock file was judged. */
export type Verdict =
  | { readonly kind: 'held'; readonly holder: LockHolder; readonly why: 'alive' | 'other_host' | 'plan'; readonly note?: string }
  | { readonly kind: 'held_unreadable' }
  | { readonly kind: 'stale'; readonly holder: LockHolder | null; readonly why: 'dead' | 'pid_reused' | 'rebooted' | 'unreadable' | 'plan_settled' };

export interface Acquired {
  readonly lock: FolderLock;
  /** The stale lock that was taken over, with why it was stale; null when the folder was free. */
  readonly tookOver: Extract<Verdict, { kind: 'stale' }> | null;
}

/** The folder a pattern loads: its leading path segments without glob syntax, made absolute. */
export function patternFolder(pattern: string, cwd: string = process.cwd()): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (isDynamicPattern(part)) break;
    fixed.push(part);
  }
  const dir = fixed.join('/');
  return resolve(cwd, dir === '' ? (pattern.startsWith('/') ? '/' : '.') : dir);
}

/** What this process writes into its lock; the pid-reuse and reboot checks compare against it. */
export function selfHolder(pattern: string): LockHolder {
  return {
    pid: process.pid,
    hostname: hostname(),
    started: new Date().toISOString(),
    procStart: procStart(process.pid),
    bootId: bootId(),
    pattern,
    argv: process.argv.slice(1),
  };
}

export class FolderLock {
  readonly folder: string;
  readonly path: string;
  readonly #content: string;
  #released = false;

  constructor(folder: string, content: string) {
    this.folder = folder;
    this.path = join(folder, LOCK_FILE);
    this.#content = content;
  }

  /**
   * Removes the lock file if it is still ours. False when it was not: someone removed or
   * replaced it, and their file is left alone.
   */
  async release(): Promise<boolean> {
    if (this.#released) return true;
    this.#released = true;
    try {
      if ((await readFile(this.path, 'utf8')) !== this.#content) return false;
      await unlink(this.path);
      return true;
    } catch {
      return false;
    }
  }

  /** For process 'exit' handlers, where nothing asynchronous runs. */
  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      if (readFileSync(this.path, 'utf8') === this.#content) unlinkSync(this.path);
    } catch {
      // gone already: nothing of ours to remove
    }
  }
}

/**
 * Takes the lock of `folder` or throws FolderLockedError naming the holder. A folder that does not
 * exist has nothing to load and gets a lock that holds nothing (null).
 */
export async function acquireFolderLock(folder: string, me: LockHolder, checkPlan?: PlanCheck): Promise<Acquired | null> {
  const path = join(folder, LOCK_FILE);
  const content = `${JSON.stringify(me)}\n`;
  let tookOver: Acquired['tookOver'] = null;
  for (let attempt = 0; attempt < 20; attempt++) {
    const created = await createExclusive(path, content, folder);
    if (created === 'no_folder') return null;
    if (created === 'created') return { lock: new FolderLock(folder, content), tookOver };
    const seen = await readLock(path, folder);
    if (seen === null) continue; // released between our two looks: try again
    let verdict = judge(seen.text, seen.mtimeMs, me);
    if (verdict.kind === 'held' && verdict.why === 'plan') verdict = await judgePlan(verdict.holder, checkPlan);
    if (verdict.kind !== 'stale') throw lockedError(folder, path, verdict);
    if (await removeStale(path, seen.text, folder)) tookOver = verdict;
  }
  throw new FolderLockedError(
    `${folder}: could not take the lock (lock file ${path}): another run is taking over its stale lock, or runs keep starting and stopping`,
    { file: path },
  );
}

/** Whether the holder in `text` (a lock file modified at mtimeMs) still holds it, as seen by `me`. */
export function judge(text: string, mtimeMs: number, me: LockHolder, now: number = Date.now()): Verdict {
  const holder = parseHolder(text);
  if (holder === null) return now - mtimeMs >= GARBAGE_STALE_MS ? { kind: 'stale', holder: null, why: 'unreadable' } : { kind: 'held_unreadable' };
  // Its pid is the enqueue that made the plan, long gone: only the plan's Redis can tell.
  if (holder.plan !== undefined) return { kind: 'held', holder, why: 'plan' };
  if (holder.hostname !== me.hostname) return { kind: 'held', holder, why: 'other_host' };
  if (holder.bootId && me.bootId && holder.bootId !== me.bootId) return { kind: 'stale', holder, why: 'rebooted' };
  if (!pidAlive(holder.pid)) return { kind: 'stale', holder, why: 'dead' };
  const now22 = procStart(holder.pid);
  if (holder.procStart && now22 && holder.procStart !== now22) return { kind: 'stale', holder, why: 'pid_reused' };
  return { kind: 'held', holder, why: 'alive' };
}

/** A plan lock is stale only when its Redis says the plan settled; a Redis that cannot answer holds. */
async function judgePlan(holder: LockHolder, checkPlan: PlanCheck | undefined): Promise<Verdict> {
  if (checkPlan === undefined || holder.plan === undefined) return { kind: 'held', holder, why: 'plan' };
  const seen = await checkPlan(holder.plan);
  return seen.settled ? { kind: 'stale', holder, why: 'plan_settled' } : { kind: 'held', holder, why: 'plan', ...(seen.note ? { note: seen.note } : {}) };
}

/** "pid 1234 on host X since <time>", or "plan p3 (Redis URL) since <time>", for messages. */
export function describeHolder(h: LockHolder): string {
  if (h.plan !== undefined) return `plan ${h.plan.id} of Redis ${h.plan.redis} (enqueued by pid ${h.pid} on host ${h.hostname}) since ${h.started}`;
  return `pid ${h.pid} on host ${h.hostname} since ${h.started}`;
}

const STALE_BECAUSE = {
  dead: 'is no longer running',
  pid_reused: 'is no longer running (its pid now belongs to another process)',
  rebooted: 'is no longer running (the machine rebooted since)',
  plan_settled: 'has settled (its Redis runs no job of it)',
} as const;

/** What a warning says about a lock that was taken over. */
export function describeStale(v: Extract<Verdict, { kind: 'stale' }>): string {
  if (v.holder === null || v.why === 'unreadable') return `an unreadable lock file older than ${GARBAGE_STALE_MS / 1000} s`;
  return `the stale lock of ${describeHolder(v.holder)}, which ${STALE_BECAUSE[v.why]}`;
}

function lockedError(folder: string, path: string, v: Exclude<Verdict, { kind: 'stale' }>): InstanceType<typeof FolderLockedError> {
  if (v.kind === 'held_unreadable') {
    return new FolderLockedError(
      `${folder} is locked by a lock file that cannot be read yet (lock file ${path}); it is taken over once ${GARBAGE_STALE_MS / 1000} s old`,
      { file: path },
    );
  }
  const what =
    v.why === 'plan' && v.holder.plan !== undefined
      ? `${v.note ? `; ${v.note}` : ''}; see it with \`memc-load status --redis ${v.holder.plan.redis}\`: the folder is free again once the plan has settled${RETRY_HINT}`
      : v.why === 'other_host'
        ? `; that is another host, whose process cannot be checked from here: if no run is going on there, delete the lock file`
        : RETRY_HINT;
  return new FolderLockedError(`${folder} is being loaded by ${describeHolder(v.holder)} (lock file ${path})${what}`, { file: path });
}

/** Other failures than these are the folder's fault (not writable): ConfigError. */
async function createExclusive(path: string, content: string, folder: string): Promise<'created' | 'exists' | 'no_folder'> {
  let fh;
  try {
    fh = await open(path, 'wx');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return 'exists';
    if (code === 'ENOENT') return 'no_folder';
    throw folderError(folder, path, err);
  }
  try {
    await fh.writeFile(content);
  } catch (err) {
    // A lock we could not fill (a full disk) must not be left to block the next run.
    await fh.close();
    await unlink(path).catch(() => undefined);
    throw folderError(folder, path, err);
  }
  await fh.close();
  return 'created';
}

async function readLock(path: string, folder: string): Promise<{ text: string; mtimeMs: number } | null> {
  try {
    const [text, s] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mtimeMs: s.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw folderError(folder, path, err, 'read');
  }
}

/** Under the takeover file: removes the lock only if it still holds `staleText`. */
async function removeStale(path: string, staleText: string, folder: string): Promise<boolean> {
  const guard = `${path}.takeover`;
  if ((await createExclusive(guard, `${process.pid}\n`, folder)) !== 'created') {
    const s = await stat(guard).catch(() => null);
    if (s !== null && Date.now() - s.mtimeMs > TAKEOVER_STALE_MS) await unlink(guard).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    return false;
  }
  try {
    const now = await readFile(path, 'utf8').catch(() => null);
    if (now !== staleText) return false;
    await unlink(path);
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder> | null;
    if (v === null || typeof v !== 'object' || !Number.isInteger(v.pid) || (v.pid as number) <= 0) return null;
    if (typeof v.hostname !== 'string' || typeof v.started !== 'string') return null;
    return v as LockHolder;
  } catch {
    return null;
  }
}

/** A process of this host runs with `pid` (any user's). */
export function pidAlive(pid: number): boolean {
  // No process can have a pid above the kernel's pid_max; process.kill would throw a type error
  // for it (not ESRCH), and such a lock would count as held for ever (issue #18, item 8).
  if (pid > pidMax()) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** /proc/sys/kernel/pid_max, or Linux's ceiling (2^22) where it cannot be read. */
function pidMax(): number {
  try {
    const n = Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1').trim());
    if (Number.isSafeInteger(n) && n > 0) return n;
  } catch {
    // no /proc: fall back to the ceiling
  }
  return 4_194_304;
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and ')'. */
export function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim() || null;
  } catch {
    return null;
  }
}

function folderError(folder: string, path: string, err: unknown, verb: 'create' | 'read' = 'create'): InstanceType<typeof ConfigError> {
  const e = err as NodeJS.ErrnoException;
  return new ConfigError(
    `cannot ${verb} the lock file ${path} (${e.code ?? e.message}): memc-load needs write access to ${folder}, to lock it and to mark files done`,
    { file: path, cause: err },
  );
}
