/**
 * The one rule that tells a memcached restart, pure, for both modes: the single host compares
 * each server's readings across a run (eviction-watch.ts), the cluster compares a node's reading
 * at commit with the one taken when its plan first wrote to it (queue/restart-watch.ts).
 *
 * A restart shows as a changed `pid`, or as an `uptime` that grew less than the time between
 * the readings: the server's start moved later (a container keeps pid 1 across restarts).
 * memcached reports ~2 s of uptime at start, so its start computed from uptime is never later
 * than the real one: the check cannot fire on a server that did not restart.
 *
 * `at` is when a reading was taken, in ms, on a clock both readings share. One process uses
 * performance.now(); readings taken on different hosts use the server's own `time` stat
 * (identityOf), so no host's clock skew can fake or hide a restart.
 */

export interface Identity {
  readonly pid: string;
  /** Seconds, as the server reported it. */
  readonly uptime: number;
  /** When it was read, in ms, on the clock the readings compared with it use. */
  readonly at: number;
}

/** A server found restarted: whatever it acknowledged before may be gone. */
export interface Restart {
  /** Its pid at the previous good reading; null when it had none (unreadable at the baseline). */
  readonly previousPid: string | null;
  /** When the new process started, on the readings' clock (ms; to a second or so). */
  readonly startedAt: number;
  readonly pid: string;
  /** Seconds, as the server reports it now. */
  readonly uptime: number;
  /** How it was told, for people: `pid 10 -> 11`, or the uptime against the time it should be up. */
  readonly evidence: string;
}

/**
 * Slack on comparing a server's start times, in seconds: `uptime` has 1 s steps and a reading
 * takes a moment. A restart is told by pid unless it comes within this of the previous start.
 */
const START_SLACK_S = 2;

/** Whether `now` is a new process since `before` (or, without one, since its first ack at `ackAt`). */
export function restarted(before: Identity | undefined, now: Identity, ackAt: number | undefined): Restart | null {
  // Where the server puts its start, on the readings' clock, in seconds.
  const startOf = (r: Identity) => r.at / 1000 - r.uptime;
  const found = (previousPid: string | null, evidence: string): Restart => ({
    previousPid,
    startedAt: startOf(now) * 1000,
    pid: now.pid,
    uptime: now.uptime,
    evidence,
  });
  if (before === undefined) {
    if (ackAt === undefined || startOf(now) <= ackAt / 1000 + START_SLACK_S) return null;
    const since = Math.round((now.at - ackAt) / 1000);
    return found(null, `pid ${now.pid}, up ${now.uptime} s, yet it acknowledged a write of this run ${since} s ago`);
  }
  if (now.pid !== before.pid) return found(before.pid, `pid ${before.pid} -> ${now.pid}`);
  if (now.uptime < before.uptime || startOf(now) > startOf(before) + START_SLACK_S) {
    const since = Math.round((now.at - before.at) / 1000);
    return found(before.pid, `pid ${now.pid} kept, but up ${now.uptime} s, ${since} s after a reading of ${before.uptime} s`);
  }
  return null;
}

/**
 * A node's identity from its `stats`, timed by the node's own clock (`time`, unix seconds):
 * `time − uptime` is the node's start, the same from any host that reads it.
 */
export function identityOf(s: Readonly<Record<string, string>>): Identity {
  const n = (name: string): number => {
    const v = Number(s[name]);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`stat ${name} missing or not a count: ${String(s[name])}`);
    return v;
  };
  return { pid: s['pid'] ?? '', uptime: n('uptime'), at: n('time') * 1000 };
}
