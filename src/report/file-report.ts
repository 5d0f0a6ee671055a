import { emptyRejectCounts, REJECT_REASONS, type RejectCounts } from '../record/reasons.js';

/** SPEC.md "A file's outcome". */
export const OUTCOMES = ['succeeded', 'failed_data', 'failed_load'] as const;
export type FileOutcome = (typeof OUTCOMES)[number];

export interface FileReport {
  readonly path: string;
  /** Non-blank lines: the error-rate denominator. */
  readonly lines: number;
  readonly blankLines: number;
  /** Records handed to memcached (or printed, with --dry). */
  readonly records: number;
  /** Records memcached acknowledged. */
  readonly loaded: number;
  readonly rejected: RejectCounts;
  readonly rejectedTotal: number;
  /** Kept lines that had app ids dropped. */
  readonly appWarnings: number;
  /** Records that could not be written, by server `host:port`. */
  readonly failedWrites: Readonly<Record<string, number>>;
  readonly failedWritesTotal: number;
  readonly errorRate: number;
  readonly outcome: FileOutcome;
  /** Why the file failed to load (read error, gzip error, unreachable server …). */
  readonly error: string | null;
  readonly renamed: boolean;
  readonly seconds: number;
  readonly linesPerSecond: number;
}

/** Counters for one file while it is being loaded; frozen into a FileReport when it settles. */
export class FileTally {
  readonly path: string;
  readonly index: number;
  readonly startedAt: number;
  lines = 0;
  blankLines = 0;
  records = 0;
  loaded = 0;
  rejected: RejectCounts = emptyRejectCounts();
  appWarnings = 0;
  failedWrites: Record<string, number> = {};
  errors: string[] = [];
  /** Batches handed to connections and not yet settled. */
  pendingBatches = 0;
  /** Every chunk of the file has been through the pipeline (or reading failed). */
  readDone = false;
  settledAt = 0;

  constructor(path: string, index: number, now: number) {
    this.path = path;
    this.index = index;
    this.startedAt = now;
  }

  get settled(): boolean {
    return this.readDone && this.pendingBatches === 0;
  }

  addFailedWrites(server: string, n: number): void {
    if (n > 0) this.failedWrites[server] = (this.failedWrites[server] ?? 0) + n;
  }

  /** Applies SPEC.md's outcome rules. */
  finish(maxErrorRate: number, renamed: boolean): FileReport {
    const rejectedTotal = REJECT_REASONS.reduce((sum, r) => sum + this.rejected[r], 0);
    const failedWritesTotal = Object.values(this.failedWrites).reduce((a, b) => a + b, 0);
    const errorRate = this.lines === 0 ? 0 : (rejectedTotal + failedWritesTotal) / this.lines;
    // A file with no error at all succeeds even under --max-error-rate 0.
    const overThreshold = rejectedTotal + failedWritesTotal > 0 && errorRate >= maxErrorRate;
    const outcome: FileOutcome =
      this.errors.length > 0 || failedWritesTotal > 0 ? 'failed_load' : overThreshold ? 'failed_data' : 'succeeded';
    const seconds = Math.max(0, (this.settledAt || performance.now()) - this.startedAt) / 1000;
    return {
      path: this.path,
      lines: this.lines,
      blankLines: this.blankLines,
      records: this.records,
      loaded: this.loaded,
      rejected: { ...this.rejected },
      rejectedTotal,
      appWarnings: this.appWarnings,
      failedWrites: { ...this.failedWrites },
      failedWritesTotal,
      errorRate,
      outcome,
      error: this.errors.length > 0 ? this.errors.join('; ') : null,
      renamed,
      seconds,
      linesPerSecond: seconds > 0 ? Math.round(this.lines / seconds) : 0,
    };
  }
}
