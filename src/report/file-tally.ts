/**
 * One file's counters while it loads, written only through these methods, in the order things
 * happen: chunks in sequence (lines, rejects), batches as they settle (stored, refused, lost),
 * what the servers lost as it settles, then one immutable FileReport.
 */
import type { BatchSettled } from '../memcached/router.js';
import type { Inflater } from '../logfile/gunzip-choice.js';
import type { Encoder } from '../pipeline/native-encode.js';
import { emptyRejectCounts, REJECT_REASONS, type RejectCounts, type RejectReason } from '../record/reasons.js';
import type { FileOutcome, FileReport } from './file-report.js';

/** What a chunk contributes, in sequence (a ChunkResult's counts). */
export interface ChunkCounts {
  /** Lines of the chunk, blank ones included. */
  readonly lines: number;
  readonly nonBlank: number;
  readonly rejected: Readonly<Partial<Record<RejectReason, number>>>;
  readonly appWarnings: number;
}

/** What SPEC.md's outcome rules read of a file, in either mode. */
export interface VerdictCounts {
  /** Non-blank lines: the error rate's denominator. */
  readonly lines: number;
  /** Rejected lines, and records memcached refused as too large (`too_large`). */
  readonly rejected: number;
  /** Records not written after the retries, or refused by an error reply. */
  readonly failedWrites: number;
  /** Something failed the load whatever the counts say (a read error, a lane not acknowledged). */
  readonly loadFailed: boolean;
}

/** (rejected + failed writes) / non-blank lines; 0 for a file with no line. */
export function errorRate(c: VerdictCounts): number {
  return c.lines === 0 ? 0 : (c.rejected + c.failedWrites) / c.lines;
}

/**
 * SPEC.md's outcome rules, the one copy: the single host's FileTally and the cluster's commit
 * (cluster/stages.ts fileVerdict) both decide a file here.
 */
export function fileOutcome(c: VerdictCounts, maxErrorRate: number): FileOutcome {
  if (c.loadFailed || c.failedWrites > 0) return 'failed_load';
  // A file with no error at all succeeds even under --max-error-rate 0.
  return c.rejected + c.failedWrites > 0 && errorRate(c) >= maxErrorRate ? 'failed_data' : 'succeeded';
}

export class FileTally {
  readonly path: string;
  readonly index: number;
  readonly startedAt: number;
  #lines = 0;
  #blankLines = 0;
  #records = 0;
  #loaded = 0;
  readonly #rejected: RejectCounts = emptyRejectCounts();
  #appWarnings = 0;
  readonly #failedWrites: Record<string, number> = {};
  readonly #failedWritesByReason: Record<string, number> = {};
  /** Writes memcached answered with an error, by server and reason: `server\treason` → count. */
  readonly #refused = new Map<string, number>();
  readonly #evictions: Record<string, number> = {};
  readonly #storeNoMemory: Record<string, number> = {};
  readonly #evictionsUnknown: Record<string, string> = {};
  readonly #errors: string[] = [];
  #renameBack: string | null = null;
  #late: string | null = null;
  #inflater: Inflater | null = null;
  #encoder: Encoder | null = null;
  /** Batches handed to lanes and not yet settled. */
  #pendingBatches = 0;
  /** Every chunk of the file has been through the pipeline (or reading failed). */
  #readDone = false;
  /**
   * When the last batch settled (performance.now()); NaN until then. A double from the start: a
   * field that began as the small integer 0 changed the objects' shape when the first file
   * settled, and V8 threw away the optimized code of every function that touches a FileTally
   * (the lanes, the settle path) and compiled it again (issue #19).
   */
  #settledAt = Number.NaN;

  constructor(path: string, index: number, now: number) {
    this.path = path;
    this.index = index;
    this.startedAt = now;
  }

  /** Non-blank lines so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Lines so far, blank ones included: the number of the last line counted. */
  get lineNumber(): number {
    return this.#lines + this.#blankLines;
  }

  get settled(): boolean {
    return this.#readDone && this.#pendingBatches === 0;
  }

  /** A chunk's counts, in sequence. Returns the number of the line before its first. */
  addChunk(c: ChunkCounts): number {
    const base = this.lineNumber;
    this.#lines += c.nonBlank;
    this.#blankLines += c.lines - c.nonBlank;
    for (const reason of REJECT_REASONS) this.#rejected[reason] += c.rejected[reason] ?? 0;
    this.#appWarnings += c.appWarnings;
    return base;
  }

  /** A line over --max-line-bytes, in sequence. Returns its number, or null when it was blank. */
  addTooLong(blank: boolean): number | null {
    if (blank) {
      this.#blankLines++;
      return null;
    }
    this.#lines++;
    this.#rejected.too_long++;
    return this.lineNumber;
  }

  /**
   * The lines a sample could be logged for, by reason: the line rejects so far (not `too_large`,
   * which memcached decides later) and, as `apps`, the lines kept without some app ids.
   */
  lineIssues(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const reason of REJECT_REASONS) if (reason !== 'too_large') out[reason] = this.#rejected[reason];
    out['apps'] = this.#appWarnings;
    return out;
  }

  /** Records printed by --dry: handed on, with no batch to wait for. */
  addPrinted(records: number): void {
    this.#records += records;
  }

  /** A batch of `records` handed to a lane; its settlement is awaited. */
  addSent(records: number): void {
    this.#records += records;
    this.#pendingBatches++;
  }

  batchSettled(s: BatchSettled): void {
    this.#pendingBatches--;
    this.#loaded += s.loaded;
    this.#rejected.too_large += s.tooLarge;
    this.#addFailedWrites(s.server, s.failed, s.failedByReason, s.delivered);
    if (!s.delivered) this.addError(s.error?.message ?? `${s.server} unreachable`);
    this.#noteSettled();
  }

  /** Every chunk has gone through the pipeline (`error`: reading stopped early, and why). */
  endOfInput(error: string | null): void {
    if (error !== null) this.addError(error);
    this.#readDone = true;
    this.#noteSettled();
  }

  /** Why the file fails to load; the same text twice is kept once. */
  addError(message: string): void {
    if (!this.#errors.includes(message)) this.#errors.push(message);
  }

  /** A rise of a server's eviction or refused-store counters while this file settled. */
  noteLoss(server: string, evicted: number, refused: number): void {
    if (evicted > 0) this.#evictions[server] = evicted;
    if (refused > 0) this.#storeNoMemory[server] = refused;
  }

  /** A server whose counters could not be compared for this file, and why. */
  noteLossUnknown(server: string, why: string): void {
    this.#evictionsUnknown[server] = why;
  }

  hasFailedWrites(server: string): boolean {
    return this.#failedWrites[server] !== undefined;
  }

  /** This run renamed the file, then could not rename it back: the command that does it. */
  setRenameBack(command: string): void {
    this.#renameBack = command;
  }

  /** A late file, not loaded: the newer done file of its folder. */
  setLate(doneFile: string): void {
    this.#late = doneFile;
  }

  /** The inflater that reads the file and the encoder of its clean lines (null: none), once reading starts (pipeline/feed.ts). */
  readWith(inflater: Inflater, encoder: Encoder | null): void {
    this.#inflater = inflater;
    this.#encoder = encoder;
  }

  /** SPEC.md's outcome rules. */
  outcome(maxErrorRate: number): FileOutcome {
    return fileOutcome(this.#counts(), maxErrorRate);
  }

  /** `heldBackBy`: the earlier file that kept this one from being renamed, if any. */
  report(maxErrorRate: number, renamed: boolean, heldBackBy: string | null = null): FileReport {
    const counts = this.#counts();
    const seconds = Math.max(0, (Number.isNaN(this.#settledAt) ? performance.now() : this.#settledAt) - this.startedAt) / 1000;
    return {
      path: this.path,
      lines: this.#lines,
      blankLines: this.#blankLines,
      records: this.#records,
      loaded: this.#loaded,
      rejected: { ...this.#rejected },
      rejectedTotal: counts.rejected,
      appWarnings: this.#appWarnings,
      failedWrites: { ...this.#failedWrites },
      failedWritesTotal: counts.failedWrites,
      failedWritesByReason: { ...this.#failedWritesByReason },
      evictions: { ...this.#evictions },
      storeNoMemory: { ...this.#storeNoMemory },
      evictionsUnknown: { ...this.#evictionsUnknown },
      errorRate: errorRate(counts),
      outcome: fileOutcome(counts, maxErrorRate),
      error: this.#errorText(),
      renamed,
      renameBack: this.#renameBack,
      heldBackBy,
      late: this.#late,
      inflater: this.#inflater,
      encoder: this.#encoder,
      seconds,
      linesPerSecond: seconds > 0 ? Math.round(this.#lines / seconds) : 0,
    };
  }

  #counts(): VerdictCounts {
    return {
      lines: this.#lines,
      rejected: REJECT_REASONS.reduce((sum, r) => sum + this.#rejected[r], 0),
      failedWrites: Object.values(this.#failedWrites).reduce((a, b) => a + b, 0),
      loadFailed: this.#errors.length > 0,
    };
  }

  #noteSettled(): void {
    if (this.settled && Number.isNaN(this.#settledAt)) this.#settledAt = performance.now();
  }

  /**
   * Records of this file that were not written. `byReason` sums to `n`; `refused` says memcached
   * answered them with an error reply (as opposed to never receiving them).
   */
  #addFailedWrites(server: string, n: number, byReason: Readonly<Record<string, number>>, refused: boolean): void {
    if (n <= 0) return;
    this.#failedWrites[server] = (this.#failedWrites[server] ?? 0) + n;
    for (const [reason, count] of Object.entries(byReason)) {
      this.#failedWritesByReason[reason] = (this.#failedWritesByReason[reason] ?? 0) + count;
      if (refused) this.#refused.set(`${server}\t${reason}`, (this.#refused.get(`${server}\t${reason}`) ?? 0) + count);
    }
  }

  /** Why the file failed to load: the errors logged, then one line per server and refusal reason. */
  #errorText(): string | null {
    const parts = [...this.#errors];
    for (const [key, n] of this.#refused) {
      const [server, reason] = key.split('\t') as [string, string];
      parts.push(`${n} write(s) refused by ${server}: ${reason}`);
    }
    return parts.length > 0 ? parts.join('; ') : null;
  }
}

/**
 * The report of a file the run leaves without reading it (late, or a name it cannot open): it
 * failed to load, with `why`, and stays pending.
 */
export function notLoadedReport(path: string, why: string, late: string | null, maxErrorRate: number): FileReport {
  const t = new FileTally(path, -1, performance.now());
  t.addError(why);
  if (late !== null) t.setLate(late);
  t.endOfInput(null);
  return t.report(maxErrorRate, false);
}
