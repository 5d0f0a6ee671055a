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
  /**
   * The same records by reason: memcached's reply (`SERVER_ERROR out of memory storing object`,
   * `NS`, …) for refused writes, the error code (`MCL_ERR_SERVER_GONE`, …) for undelivered ones.
   */
  readonly failedWritesByReason: Readonly<Record<string, number>>;
  /**
   * Rise of each server's `evictions` counter seen while this file settled (only servers where it
   * rose). With pipelining across files it may include evictions caused by the next file's writes.
   */
  readonly evictions: Readonly<Record<string, number>>;
  /** Rise of `store_no_memory` (stores refused for lack of memory), likewise. */
  readonly storeNoMemory: Readonly<Record<string, number>>;
  /** Servers whose counters could not be compared for this file, with why. */
  readonly evictionsUnknown: Readonly<Record<string, string>>;
  readonly errorRate: number;
  readonly outcome: FileOutcome;
  /** Why the file failed to load (read error, gzip error, unreachable server …). */
  readonly error: string | null;
  readonly renamed: boolean;
  /**
   * A file this run renamed, then had to rename back (a server restarted and lost its records)
   * and could not: the shell command that does it. Otherwise null.
   */
  readonly renameBack: string | null;
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
  failedWritesByReason: Record<string, number> = {};
  /** Writes memcached answered with an error, by server and reason: `server\treason` → count. */
  readonly #refused = new Map<string, number>();
  evictions: Record<string, number> = {};
  storeNoMemory: Record<string, number> = {};
  evictionsUnknown: Record<string, string> = {};
  errors: string[] = [];
  /** See FileReport.renameBack. */
  renameBack: string | null = null;
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

  /**
   * Records of this file that were not written. `byReason` sums to `n`; `refused` says memcached
   * answered them with an error reply (as opposed to never receiving them).
   */
  addFailedWrites(server: string, n: number, byReason: Readonly<Record<string, number>> = {}, refused = false): void {
    if (n <= 0) return;
    this.failedWrites[server] = (this.failedWrites[server] ?? 0) + n;
    for (const [reason, count] of Object.entries(byReason)) {
      this.failedWritesByReason[reason] = (this.failedWritesByReason[reason] ?? 0) + count;
      if (refused) this.#refused.set(`${server}\t${reason}`, (this.#refused.get(`${server}\t${reason}`) ?? 0) + count);
    }
  }

  /** Why the file failed to load: the errors logged, then one line per server and refusal reason. */
  #errorText(): string | null {
    const parts = [...this.errors];
    for (const [key, n] of this.#refused) {
      const [server, reason] = key.split('\t') as [string, string];
      parts.push(`${n} write(s) refused by ${server}: ${reason}`);
    }
    return parts.length > 0 ? parts.join('; ') : null;
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
    const error = this.#errorText();
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
      failedWritesByReason: { ...this.failedWritesByReason },
      evictions: { ...this.evictions },
      storeNoMemory: { ...this.storeNoMemory },
      evictionsUnknown: { ...this.evictionsUnknown },
      errorRate,
      outcome,
      error,
      renamed,
      renameBack: this.renameBack,
      seconds,
      linesPerSecond: seconds > 0 ? Math.round(this.lines / seconds) : 0,
    };
  }
}
