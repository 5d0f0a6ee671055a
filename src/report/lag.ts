/**
 * How far behind the newest minute a folder is (issue #20, item 3): the age of its oldest pending
 * file and of its newest done file, each read from the timestamp in the file's name
 * (`20170929000000.tsv.gz`: 2017-09-29 00:00:00), taken as UTC and compared with this host's
 * clock. Both modes, and `status`, read the folder itself at the moment they are asked: the
 * folder is the truth of what is done (a rename), and a loader that hangs must still show its
 * lag growing, which a figure updated only by the loader's own events would not.
 *
 * The pure part; logfile/lag.ts reads the folder.
 *
 * Pending means what a run would load now: matches of the pattern not marked done, without the
 * late files and bad names a run leaves out (logfile/pending.ts) unless --load-late plans them:
 * those are failed files, reported as such, not lag.
 */
import { basename } from 'node:path';

export interface LagFile {
  readonly file: string;
  /** Seconds between the minute in its name and now; 0 for a name in the future (clock skew). */
  readonly ageSeconds: number;
}

export interface Lag {
  /** When it was read (ISO 8601, UTC). */
  readonly at: string;
  /** Pending files whose names hold a timestamp. */
  readonly pending: number;
  /** The oldest of them; null when nothing is pending (nothing behind). */
  readonly oldestPending: LagFile | null;
  /** The newest file marked done; null when none is. */
  readonly newestDone: LagFile | null;
  /**
   * Pending files a run leaves out (late, a name that is not UTF-8, a dangling link): not lag, as
   * they wait for the operator, but counted, so that "nothing pending" is never said while one waits.
   */
  readonly heldBack: number;
}

const STAMP = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/;

/** The minute a log file is of, as Unix ms (UTC), from the first 14 digits of its base name (a done file's dot ignored); null for a name that holds none. */
export function fileTime(path: string): number | null {
  const m = STAMP.exec(basename(path).replace(/^\./, ''));
  if (m === null) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  // 20171399… is not a date: Date.UTC would roll it over into another one.
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) return null;
  return t;
}

/** The pure part: the lag of these pending and done paths at `nowMs`. Names without a timestamp are left out. */
export function lagOf(pending: readonly string[], done: readonly string[], nowMs: number, heldBack = 0): Lag {
  const stamped = (paths: readonly string[]) =>
    paths.flatMap((file) => {
      const t = fileTime(file);
      return t === null ? [] : [{ file, t }];
    });
  const age = (f: { file: string; t: number }): LagFile => ({ file: f.file, ageSeconds: Math.max(0, Math.round((nowMs - f.t) / 1000)) });
  const p = stamped(pending);
  const d = stamped(done);
  const oldest = p.reduce<{ file: string; t: number } | null>((a, f) => (a === null || f.t < a.t ? f : a), null);
  const newest = d.reduce<{ file: string; t: number } | null>((a, f) => (a === null || f.t > a.t ? f : a), null);
  return {
    at: new Date(nowMs).toISOString(),
    pending: p.length,
    oldestPending: oldest === null ? null : age(oldest),
    newestDone: newest === null ? null : age(newest),
    heldBack,
  };
}

/** One line for people: `oldest pending 20170929000300.tsv.gz, 2m 5s behind; newest done 20170929000200.tsv.gz, 3m 5s ago`. */
export function describeLag(lag: Lag): string {
  const waiting = lag.heldBack > 0 ? ` (${lag.heldBack} more held back for the operator: late or unreadable)` : '';
  const pending =
    lag.oldestPending === null
      ? `nothing pending${waiting}`
      : `oldest pending ${basename(lag.oldestPending.file)}, ${duration(lag.oldestPending.ageSeconds)} old (${lag.pending} pending)${waiting}`;
  const done = lag.newestDone === null ? 'no file done yet' : `newest done ${basename(lag.newestDone.file).replace(/^\./, '')}, ${duration(lag.newestDone.ageSeconds)} old`;
  return `${pending}; ${done}`;
}

/** `3d 4h`, `2h 5m`, `4m 10s`, `12s`: the two largest units. */
export function duration(seconds: number): string {
  const units: [string, number][] = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  const parts: string[] = [];
  let left = Math.round(seconds);
  for (const [u, n] of units) {
    if (left >= n || (u === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(left / n)}${u}`);
      left %= n;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
