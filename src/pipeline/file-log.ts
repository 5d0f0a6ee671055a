/**
 * What the log says about a file while it loads: samples of its rejected lines, and the first
 * error reply of each kind per server. Both are capped per file; the counts stay exact in the
 * file's counters.
 */
import type { RejectDetail } from '../record/describe-reject.js';
import type { FileTally } from '../report/file-tally.js';
import type { Logger } from '../report/logger.js';

/** How many sample lines of a file are logged with their reason; counts are always exact. */
export const LOGGED_SAMPLES_PER_FILE = 20;
/** Distinct error replies (server, reason) logged per file; counts by reason are always exact. */
const LOGGED_FAILURES_PER_FILE = 10;

export class FileLog {
  readonly #log: Logger;
  // Weak: a watch session's loader outlives the files of every round.
  readonly #samples = new WeakMap<FileTally, number>();
  readonly #failures = new WeakMap<FileTally, Set<string>>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Line `line` of `file` was rejected for `reason` (or, `apps`, kept without some app ids);
   * `detail` names the field and value at fault.
   */
  sample(file: FileTally, line: number, reason: string, detail: RejectDetail): void {
    const n = this.#samples.get(file) ?? 0;
    if (n >= LOGGED_SAMPLES_PER_FILE) return;
    this.#samples.set(file, n + 1);
    const what = reason === 'apps' ? `${detail.text}; the line is kept` : `rejected (${reason}): ${detail.text}`;
    const { field, value, bytes } = detail;
    this.#log.log('warn', `${file.path}:${line}: ${what}`, { file: file.path, line, reason, field, value, ...(bytes === undefined ? {} : { bytes }) });
  }

  /** `server` answered a record of `file` with an error reply: the first of each kind is logged. */
  failure(file: FileTally, server: string, kind: string, message: string): void {
    const reason = message === '' ? kind : `${kind} ${message}`;
    let seen = this.#failures.get(file);
    if (seen === undefined) this.#failures.set(file, (seen = new Set()));
    const key = `${server}\t${reason}`;
    if (seen.has(key) || seen.size >= LOGGED_FAILURES_PER_FILE) return;
    seen.add(key);
    this.#log.log('warn', `${server} answered ${reason} to a record of ${file.path}; such writes are counted as failed`, {
      server,
      file: file.path,
      reason,
    });
  }
}
