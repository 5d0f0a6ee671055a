/**
 * The settle stage: decides each file's outcome from its counters once every batch of it has an
 * outcome, and marks files done strictly in order (SPEC.md's watermark):
 *
 *   files:  0 ✓  1 ✓  2 ✗  3 ✓  4 …     ✓ settled and renamed, ✗ failed to load
 *                     ▲ watermark stops renaming here: 3 is held back by 2, and reloads after it
 *
 * Before a file is renamed the servers' counters are read (evictions, refused stores, restarts),
 * so a file is never marked done while a loss that could touch it goes unseen. A restart fails
 * every file from the first one the server acknowledged, and renames back what this run renamed.
 * The rules (a file's verdict, which files a loss fails and renames back) are contract/commit.ts's.
 */
import { decide, undoFrom } from '../contract/commit.js';
import { markDone } from '../logfile/mark-done.js';
import type { LossReport } from '../memcached/eviction-watch.js';
import type { FileReport } from '../report/file-report.js';
import type { FileTally } from '../report/file-tally.js';
import type { Logger } from '../report/logger.js';
import type { LoadObserver } from '../report/observer.js';
import { RestartGuard, undoRenames } from './restart-undo.js';
import { chargeLosses, logFileReport } from './settle-log.js';

export interface SettleOptions {
  readonly maxErrorRate: number;
  readonly dry: boolean;
  readonly failOnEvictions: boolean;
  readonly log: Logger;
  readonly observer: LoadObserver;
  /** Reads what the servers lost since the last reading; null with --dry (no servers). */
  readonly readLosses: ((firstAck: (server: string) => number | undefined) => Promise<LossReport>) | null;
  /** After every pass: the loader may be waiting for files to settle. */
  readonly onPass: () => void;
}

export class Settler {
  readonly #o: SettleOptions;
  readonly #tallies: FileTally[] = [];
  readonly #reports: FileReport[] = [];
  readonly #restarts = new RestartGuard();
  /** Files before this index are reported, renamed or not. */
  #watermark = 0;
  /** The first file not renamed (it failed, or could not be renamed): every later one is held back by it. */
  #holder: FileTally | null = null;
  #passing = false;
  /** The latest pass; awaited before the run returns, so no report or rename trails it. */
  #pass: Promise<void> = Promise.resolve();

  constructor(options: SettleOptions) {
    this.#o = options;
  }

  /** A file enters the run, after every file added before it. */
  add(tally: FileTally): void {
    this.#tallies.push(tally);
  }

  /** The file with the given index in this run. */
  tally(index: number): FileTally {
    return this.#tallies[index] as FileTally;
  }

  /** memcached `server` stored records of file `index` (a restart of it fails that file on). */
  stored(server: string, index: number): void {
    this.#restarts.delivered(server, index);
  }

  /** The reports so far, in file order. */
  get reports(): readonly FileReport[] {
    return this.#reports;
  }

  /** Every file added has its report. */
  get done(): boolean {
    return this.#watermark >= this.#tallies.length;
  }

  /** Why file `index` was not renamed although it loaded: the earlier file that holds it back, as its report says. */
  heldBackBy(index: number): string | null {
    return this.#reports[index]?.heldBackBy ?? null;
  }

  /** Something may have settled: report and rename what can be, in order. */
  check(): void {
    if (!this.#passing) this.#pass = this.#settleInOrder();
  }

  /** Waits for the pass under way, if any. */
  flush(): Promise<void> {
    return this.#pass;
  }

  async #settleInOrder(): Promise<void> {
    if (this.#passing) return;
    this.#passing = true;
    try {
      for (let f = this.#tallies[this.#watermark]; f?.settled; f = this.#tallies[this.#watermark]) {
        await this.#readLosses(f);
        const verdict = decide({ index: f.index, outcome: f.outcome(this.#o.maxErrorRate), error: null }, this.#restarts.losses, this.#holder?.path ?? null);
        if (verdict.kind === 'fail') for (const e of verdict.losses) f.addError(e);
        const heldBackBy = verdict.kind === 'held' && !this.#o.dry ? verdict.by : null;
        const rename = verdict.kind === 'rename' && !this.#o.dry;
        let renamed = false;
        if (rename) {
          try {
            await markDone(f.path);
            renamed = true;
          } catch (err) {
            f.addError(`could not mark done: ${(err as Error).message}`);
          }
        }
        if (!renamed) this.#holder ??= f;
        const report = f.report(this.#o.maxErrorRate, renamed, heldBackBy);
        this.#reports.push(report);
        logFileReport(this.#o.log, this.#o.dry, report);
        this.#o.observer.fileFinished?.(report);
        this.#watermark++;
      }
    } finally {
      this.#passing = false;
    }
    this.#o.onPass();
  }

  /** What the servers lost while `f` settled is charged to it; a restart fails files and renames back. */
  async #readLosses(f: FileTally): Promise<void> {
    if (this.#o.readLosses === null) return;
    const loss = await this.#o.readLosses(this.#restarts.firstAck);
    chargeLosses(this.#o.log, this.#o.failOnEvictions, f, loss);
    if (this.#restarts.noteRestarts(this.#o.log, loss, f.path, (i) => this.tally(i).path)) await this.#renameBack();
  }

  /**
   * Files from RestartGuard.failFrom on fail. Those this run renamed are renamed back (or the log
   * says how), and their reports are replaced, so the run's report and exit status count them.
   */
  async #renameBack(): Promise<void> {
    const finalized = this.#reports.map((rep, index) => ({ index, path: rep.path, renamed: rep.renamed }));
    const failFrom = this.#restarts.failFrom;
    // Renamed back, the earliest is the first file not renamed; files after the watermark fail by the loss itself.
    if (failFrom < this.#watermark) this.#holder ??= this.tally(failFrom);
    for (const r of await undoRenames(undoFrom(failFrom, finalized))) {
      const f = this.tally(r.index);
      const restart = this.#restarts.errorsFor(r.index).join('; ');
      let said: string;
      if (r.undone) {
        said = `${f.path}: renamed back: ${restart}; it will be reloaded by the next run`;
      } else {
        f.setRenameBack(r.command as string);
        said = `${f.path}: could not rename it back (${r.why}): it stays marked done, though ${restart}; to reload it, remove the cause, then run: ${r.command}`;
      }
      f.addError(said);
      this.#o.log.log('error', said, { file: f.path, renamed: !r.undone, ...(r.command ? { command: r.command } : {}) });
      this.#reports[r.index] = f.report(this.#o.maxErrorRate, !r.undone);
    }
  }
}
