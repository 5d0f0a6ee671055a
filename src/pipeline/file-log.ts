/**
 * What the log says about a file while it loads: samples of its rejected lines, and the first
 * error reply of each kind per server. Both are capped per file; the counts stay exact in the
 * file's counters.
 */
import type { RejectDetail } from '../record/describe-reject.js';
import type { FileTally } from '../report/file-tally.js';
import type { Logger } from '../report/logger.js';

/** Distinct error replies (server, reason) logged per file; counts by reason are always exact. */
const LOGGED_FAILURES_PER_FILE = 10;

export class FileLog {
  readonly #log: Logger;
  /** --log-rejected: sample lines logged per file; 0 logs none. */
  readonly #cap: number;
  // Weak: a watch session's loader outlives the files of every round.
  readonly #samples = new WeakMap<FileTally, number>();
  readonly #failures = new WeakMap<FileTally, Set<string>>();

  constructor(log: Logger, samplesPerFile: number) {
    this.#log = log;
    this.#cap = samplesPerFile;
  }

  /**
   * Line `line` of `file` was rejected for `reason` (or, `apps`, kept without some app ids);
   * `detail` names the field and value at fault.
   */
  sample(file: FileTally, line: number, reason: string, detail: RejectDetail): void {
    const n = this.#samples.get(file) ?? 0;
    if (n >= this.#cap) return;
    this.#samples.set(file, n + 1);
    const what = reason === 'apps' ? `${detail.text}; the line is kept` : `rejected (${reason}): ${detail.text}`;
    const { field, value, bytes } = detail;
    this.#log.log('warn', `${file.path}:${line}: ${what}`, { file: file.path, line, reason, field, value, ...(bytes === undefined ? {} : { bytes }) });
  }

  /** `file` has logged all the samples it takes: later ones are dropped, so need not be described. */
  full(file: FileTally): boolean {
    return (this.#samples.get(file) ?? 0) >= this.#cap;
  }

  /**
   * Every line of `file` is counted: one line says how many samples the cap left out, so a
   * reader of the log knows the samples are not all (issue #20: the demo's 60 W lines).
   */
  ended(file: FileTally): void {
    const shown = this.#samples.get(file) ?? 0;
    const all = file.lineIssues();
    const total = Object.values(all).reduce((a, b) => a + b, 0);
    if (this.#cap === 0 || total <= shown) return;
    const byReason = Object.fromEntries(Object.entries(all).filter(([, n]) => n > 0));
    const list = Object.entries(byReason)
      .map(([r, n]) => `${r === 'apps' ? 'app_warnings' : r}=${n}`)
      .join(' ');
    const warned = (byReason['apps'] ?? 0) > 0;
    const kind = warned && total > (byReason['apps'] ?? 0) ? 'rejected or warned' : warned ? 'warned' : 'rejected';
    this.#log.log(
      'warn',
      `${file.path}: ${total - shown} more ${kind} line(s) not logged (${total} in all: ${list}); ` +
        `--log-rejected ${this.#cap} logs the first ${this.#cap} of each file, and the counts include every one`,
      { file: file.path, notLogged: total - shown, byReason },
    );
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
