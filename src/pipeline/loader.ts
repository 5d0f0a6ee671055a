/**
 * The run: files oldest first, each streamed through gunzip → LineChunker → encoders → Sequencer
 * → one connection per server; files settle as memcached acknowledges them and are marked done
 * strictly in order (SPEC.md's watermark).
 *
 *   read+gunzip (inline|pool) ─► chunks ─► workers (parse, encode) ─► Sequencer (seq order)
 *        ▲                                                                │
 *        └──── waits while chunks in hand ≥ bound or a server is full ◄───┴─► connections ─► MN acks
 *                                                                                   │
 *                                         FileTally.pendingBatches ◄────────────────┘
 *
 * Order is what keeps the last line winning: chunks are released to the connections in file and
 * line order, and each server has one connection, on which memcached applies commands in order.
 * Reading the next file overlaps waiting for the acks of the previous one.
 */
import type { Writable } from 'node:stream';
import { DEVICE_TYPES } from '../config/servers.js';
import type { RunOptions } from '../config/options.js';
import { ERROR_CODES, FileReadError, GzipError, InterruptedError, MemcLoadError } from '../errors.js';
import { InlineGunzip, inlineGunzipAvailable } from '../logfile/inline-gunzip.js';
import { PoolGunzip, type GunzipPieces } from '../logfile/pool-gunzip.js';
import { LineChunker, type ChunkItem } from '../logfile/line-chunker.js';
import { listLogFiles } from '../logfile/list-files.js';
import { markDone } from '../logfile/mark-done.js';
import type { BatchOutcome } from '../memcached/batch.js';
import { MemcachedConnection } from '../memcached/connection.js';
import { REJECT_REASONS } from '../record/reasons.js';
import { FileTally, type FileReport } from '../report/file-report.js';
import { silentLogger, type Logger } from '../report/logger.js';
import type { LoadObserver } from '../report/observer.js';
import type { ChunkResult, EncodeSettings } from './chunk-types.js';
import { BufferPool } from './buffer-pool.js';
import { InlineEncoder, WorkerPool, type ChunkEncoder } from './encoders.js';
import { EvictionWatch } from './eviction-watch.js';
import { Sequencer } from './sequencer.js';
import { chargeLosses, logFileReport, logUnknown } from './settle-log.js';
import { renamesToUndo, RestartGuard, undoRenames } from './restart-undo.js';
import { summarize, type RunReport } from '../report/run-report.js';

export interface LoadHooks {
  readonly logger?: Logger;
  /** With --dry: where records are printed. */
  readonly dryOutput?: Writable;
  /** Aborting stops reading; what was sent is settled, nothing unacknowledged is renamed. */
  readonly signal?: AbortSignal;
  /** Load exactly these files, in this order, instead of listing --pattern (watch mode). */
  readonly files?: readonly string[];
  /** Metrics and the progress line listen here. */
  readonly observer?: LoadObserver;
}

type Entry =
  | { readonly kind: 'data'; readonly file: FileTally; readonly result: ChunkResult }
  | { readonly kind: 'too_long'; readonly file: FileTally; readonly blank: boolean }
  | { readonly kind: 'end'; readonly file: FileTally; readonly error: MemcLoadError | null };

/** How many sample lines of a file are logged with their reason; counts are always exact. */
const LOGGED_SAMPLES_PER_FILE = 20;
/** Distinct error replies (server, reason) logged per file; counts by reason are always exact. */
const LOGGED_FAILURES_PER_FILE = 10;
/** After an abort, how long acknowledgements of what was already sent are awaited. */
const ABORT_SETTLE_MS = 3000;
/** After an abort, a `stats` reading gets at most this long: the exit must stay prompt. */
const ABORT_STATS_TIMEOUT_MS = 500;

export class Loader {
  readonly #opts: RunOptions;
  readonly #log: Logger;
  readonly #dryOutput: Writable | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #files: readonly string[] | undefined;
  readonly #observer: LoadObserver;
  /** Per server: when each unsettled batch was sent, oldest first (outcomes come in send order). */
  #sentAt: number[][] = [];
  readonly #sequencer = new Sequencer<Entry>((e) => this.#apply(e));
  readonly #tallies: FileTally[] = [];
  readonly #reports: FileReport[] = [];
  readonly #loggedSamples = new Map<FileTally, number>();
  readonly #loggedFailures = new Map<FileTally, Set<string>>();
  #evictions: EvictionWatch | null = null;
  /** Which files a memcached restart fails, and renaming them back. */
  readonly #restarts = new RestartGuard();
  #abortTimer: NodeJS.Timeout | null = null;
  #connections: MemcachedConnection[] = [];
  #encoder: ChunkEncoder | null = null;
  /** --gunzip inline, and this Node has what it needs. */
  #inlineGunzip = false;
  /** Chunk buffers come back from the encoders and are cut into again. */
  #chunkBuffers: BufferPool | null = null;
  #nextSeq = 0;
  /** Chunks submitted to encoders and not yet applied. */
  #inHand = 0;
  #maxInHand = 1;
  readonly #congested = new Set<number>();
  #dryCongested = false;
  #waiters: (() => void)[] = [];
  #fatal: Error | null = null;
  /** Files before this index are finalized (reported, renamed or not). */
  #watermark = 0;
  /** Renaming stops at the first file that is not renamed: later files must be reloaded after it. */
  #renaming = true;
  #finalizing = false;
  /** The latest finalize pass; awaited before the run returns, so no report or rename trails it. */
  #finalized: Promise<void> = Promise.resolve();

  constructor(opts: RunOptions, hooks: LoadHooks = {}) {
    this.#opts = opts;
    this.#log = hooks.logger ?? silentLogger;
    this.#dryOutput = hooks.dryOutput;
    this.#signal = hooks.signal;
    this.#files = hooks.files;
    this.#observer = hooks.observer ?? {};
  }

  async run(): Promise<RunReport> {
    const started = performance.now();
    const files = this.#files ?? (await listLogFiles(this.#opts.pattern));
    if (files.length === 0) {
      this.#log.log('info', `No files match ${this.#opts.pattern}: nothing to do`, { pattern: this.#opts.pattern });
      return summarize([], this.#opts, started);
    }
    this.#log.log('info', `Found ${files.length} file(s) matching ${this.#opts.pattern}`, { files: files.length });
    this.#observer.filesFound?.(files.length);
    this.#start();
    try {
      if (this.#evictions) logUnknown(this.#log, await this.#evictions.read(this.#statsTimeout()), 'before the run');
      for (const [index, path] of files.entries()) {
        if (this.#signal?.aborted || this.#fatal) break;
        await this.#loadFile(new FileTally(path, index, performance.now()));
      }
      await this.#untilSettled();
    } finally {
      await this.#stop();
    }
    if (this.#fatal) throw this.#fatal;
    return summarize(this.#reports, this.#opts, started, this.#signal?.aborted === true);
  }

  #start(): void {
    const o = this.#opts;
    const settings: EncodeSettings = {
      maxLineBytes: o.maxLineBytes,
      ttl: o.ttl,
      packed: o.packed,
      dry: o.dry,
      serverLabels: DEVICE_TYPES.map((t) => o.servers[t].label),
      maxSamples: LOGGED_SAMPLES_PER_FILE,
    };
    const onResult = (seq: number, result: ChunkResult, input: ArrayBuffer) => {
      const file = this.#chunkFiles.get(seq) as FileTally;
      this.#chunkFiles.delete(seq);
      this.#chunkBuffers?.give(input);
      this.#sequencer.put(seq, { kind: 'data', file, result });
    };
    if (o.workers > 0) {
      this.#encoder = new WorkerPool(o.workers, settings, onResult, (err) => this.#fail(err));
      // Two chunks per worker keep every worker busy while the main thread applies results.
      this.#maxInHand = o.workers * 2 + 1;
    } else {
      this.#encoder = new InlineEncoder(settings, onResult);
    }
    this.#chunkBuffers = new BufferPool(this.#maxInHand + 1, o.batchBytes + (o.batchBytes >>> 2));
    this.#inlineGunzip = o.gunzip === 'inline' && inlineGunzipAvailable();
    if (o.gunzip === 'inline' && !this.#inlineGunzip) {
      this.#log.log('warn', `Inline gunzip is not verified on Node.js ${process.version}: inflating on libuv's thread pool instead (--gunzip pool)`);
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (this.#signal?.aborted) this.#onAbort();
    if (o.dry) {
      this.#dryOutput?.on('drain', () => {
        this.#dryCongested = false;
        this.#wake();
      });
      return;
    }
    this.#connections = DEVICE_TYPES.map((type, i) => {
      const address = o.servers[type];
      const conn = new MemcachedConnection(
        address,
        {
          connectTimeoutMs: o.connectTimeoutMs,
          responseTimeoutMs: o.responseTimeoutMs,
          retries: o.retries,
          maxBufferedBytes: o.maxBufferedBytes,
        },
        (outcome) => {
          const sent = this.#sentAt[i]?.shift() ?? performance.now();
          this.#observer.batchSettled?.(address.label, outcome, (performance.now() - sent) / 1000);
          this.#onOutcome(address.label, outcome);
        },
      );
      conn.on('connect', () => this.#observer.serverUp?.(address.label));
      conn.on('drain', () => {
        this.#congested.delete(i);
        this.#wake();
      });
      conn.on('disconnect', (err: Error) => {
        this.#observer.serverDown?.(address.label, err);
        this.#log.log('warn', `Lost connection to ${address.label} (${err.message}); reconnecting`, { server: address.label });
      });
      conn.on('gone', (err: Error) => {
        this.#observer.serverDown?.(address.label, err);
        this.#log.log('error', err.message, { server: address.label });
      });
      return conn;
    });
    this.#sentAt = this.#connections.map(() => []);
    this.#observer.bufferedBytes?.(() => Object.fromEntries(this.#connections.map((c) => [c.label, c.bufferedBytes])));
    this.#evictions = new EvictionWatch(this.#connections.map((c) => c.address));
  }

  /**
   * Stop reading now (a reader waiting for room is woken to see the abort); what was sent gets
   * ABORT_SETTLE_MS to be acknowledged, and whatever is still unacknowledged then is abandoned:
   * its files fail to load, so they are not renamed.
   */
  readonly #onAbort = (): void => {
    if (this.#abortTimer !== null) return;
    this.#abortTimer = setTimeout(() => {
      for (const c of this.#connections) c.destroy(new InterruptedError('interrupted before the server acknowledged'));
    }, ABORT_SETTLE_MS);
    this.#wake();
  };

  readonly #chunkFiles = new Map<number, FileTally>();

  async #loadFile(file: FileTally): Promise<void> {
    this.#tallies.push(file);
    this.#log.log('info', `Processing ${file.path}`, { file: file.path });
    const pool = this.#chunkBuffers as BufferPool;
    const chunker = new LineChunker(this.#opts.batchBytes, this.#opts.maxLineBytes, (n) => pool.take(n));
    const started = (size: number): void => this.#observer.fileStarted?.(file.path, file.index, size);
    const pieces: GunzipPieces = this.#inlineGunzip ? new InlineGunzip(file.path, started) : new PoolGunzip(file.path, started);
    let error: MemcLoadError | null = null;
    try {
      for await (const piece of pieces) {
        this.#observer.bytesRead?.(file.path, pieces.bytesRead);
        for (const item of chunker.push(piece)) await this.#dispatch(file, item);
      }
      for (const item of chunker.end()) await this.#dispatch(file, item);
    } catch (err) {
      error = this.#readError(err, file.path, pieces.bytesInflated);
      if (error.code === ERROR_CODES.GZIP || error.code === ERROR_CODES.FILE_READ) {
        try {
          for (const item of chunker.flushComplete()) await this.#dispatch(file, item);
        } catch {
          // interrupted or a fatal error meanwhile: the file fails to load either way
        }
      }
    }
    this.#sequencer.put(this.#nextSeq++, { kind: 'end', file, error });
  }

  #readError(err: unknown, path: string, compressedOffset: number): MemcLoadError {
    if (err instanceof MemcLoadError) return err;
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
      return new GzipError(`${path}: gzip data broken at compressed byte ${compressedOffset} (${e.message})`, {
        file: path,
        cause: err,
      });
    }
    return new FileReadError(`${path}: could not read the file (${e.message})`, { file: path, cause: err });
  }

  /** Waits for room, then hands one chunk to the encoders under the next sequence number. */
  async #dispatch(file: FileTally, item: ChunkItem): Promise<void> {
    while (!this.#hasRoom()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    if (this.#fatal) throw this.#fatal;
    if (this.#signal?.aborted) throw new InterruptedError(`${file.path}: interrupted`, { file: file.path });
    const seq = this.#nextSeq++;
    if (item.kind === 'too_long') {
      this.#sequencer.put(seq, { kind: 'too_long', file, blank: item.blank });
      return;
    }
    this.#inHand++;
    this.#chunkFiles.set(seq, file);
    (this.#encoder as ChunkEncoder).submit(seq, item.buf);
  }

  #hasRoom(): boolean {
    if (this.#fatal || this.#signal?.aborted) return true;
    return this.#inHand < this.#maxInHand && this.#congested.size === 0 && !this.#dryCongested;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Runs in sequence order: counts, then the frames go to their servers. */
  #apply(entry: Entry): void {
    const file = entry.file;
    if (entry.kind === 'end') {
      if (entry.error) {
        const where = `after line ${file.lines + file.blankLines}`;
        file.errors.push(`${entry.error.message}, ${where}`);
        this.#log.log('error', `${entry.error.message}, ${where}`, { file: file.path, code: entry.error.code });
      }
      file.readDone = true;
      this.#settleCheck(file);
      return;
    }
    if (entry.kind === 'too_long') {
      if (entry.blank) {
        file.blankLines++;
        return;
      }
      file.lines++;
      file.rejected.too_long++;
      this.#observer.linesApplied?.(1, { too_long: 1 });
      this.#sample(file, file.lines + file.blankLines, 'too_long');
      return;
    }
    this.#inHand--;
    const r = entry.result;
    const base = file.lines + file.blankLines;
    for (const s of r.samples) this.#sample(file, base + s.line, s.reason);
    file.lines += r.nonBlank;
    file.blankLines += r.lines - r.nonBlank;
    this.#observer.linesApplied?.(r.nonBlank, r.rejected);
    for (const reason of REJECT_REASONS) file.rejected[reason] += r.rejected[reason] ?? 0;
    file.appWarnings += r.appWarnings;
    if (r.dryText !== null) {
      for (const n of r.records) file.records += n;
      if (this.#dryOutput && !this.#dryOutput.write(r.dryText)) this.#dryCongested = true;
    }
    for (let i = 0; i < r.frames.length; i++) {
      const frames = r.frames[i];
      if (!frames) continue;
      const records = r.records[i] as number;
      file.records += records;
      file.pendingBatches++;
      const conn = this.#connections[i] as MemcachedConnection;
      this.#sentAt[i]?.push(performance.now());
      if (!conn.send({ buf: frames, records, tag: file.index })) this.#congested.add(i);
    }
    this.#wake();
  }

  #sample(file: FileTally, line: number, reason: string): void {
    const n = this.#loggedSamples.get(file) ?? 0;
    if (n >= LOGGED_SAMPLES_PER_FILE) return;
    this.#loggedSamples.set(file, n + 1);
    const what = reason === 'apps' ? 'dropped app ids that are not uint32 numbers' : `rejected (${reason})`;
    this.#log.log('warn', `${file.path}:${line}: ${what}`, { file: file.path, line, reason });
  }

  #onOutcome(server: string, outcome: BatchOutcome): void {
    // The connection is done with the bytes: acknowledged, or given up on and never resent.
    this.#encoder?.recycle(outcome.batch.buf.buffer as ArrayBuffer);
    const file = this.#tallies[outcome.batch.tag] as FileTally;
    file.pendingBatches--;
    if (outcome.delivered) {
      const stored = outcome.batch.records - outcome.failed - outcome.tooLarge;
      file.loaded += stored;
      if (stored > 0) this.#restarts.delivered(server, file.index);
      file.rejected.too_large += outcome.tooLarge;
      file.addFailedWrites(server, outcome.failed, outcome.failedByReason, true);
      for (const f of outcome.failures) this.#logFailure(file, server, f.kind, f.message);
    } else {
      file.addFailedWrites(server, outcome.batch.records, outcome.failedByReason, false);
      const why = outcome.error?.message ?? `${server} unreachable`;
      if (!file.errors.includes(why)) file.errors.push(why);
    }
    this.#settleCheck(file);
  }

  /** The first error reply of each kind per file and server is logged; the rest are counted. */
  #logFailure(file: FileTally, server: string, kind: string, message: string): void {
    const reason = message === '' ? kind : `${kind} ${message}`;
    let seen = this.#loggedFailures.get(file);
    if (seen === undefined) this.#loggedFailures.set(file, (seen = new Set()));
    const key = `${server}\t${reason}`;
    if (seen.has(key) || seen.size >= LOGGED_FAILURES_PER_FILE) return;
    seen.add(key);
    this.#log.log('warn', `${server} answered ${reason} to a record of ${file.path}; such writes are counted as failed`, {
      server,
      file: file.path,
      reason,
    });
  }

  #settleCheck(file: FileTally): void {
    if (file.settled && file.settledAt === 0) file.settledAt = performance.now();
    if (!this.#finalizing) this.#finalized = this.#finalizeInOrder();
  }

  /** Reports and renames settled files strictly in order; renames stop at the first failure. */
  async #finalizeInOrder(): Promise<void> {
    if (this.#finalizing) return;
    this.#finalizing = true;
    try {
      for (let f = this.#tallies[this.#watermark]; f?.settled; f = this.#tallies[this.#watermark]) {
        if (this.#evictions) {
          const loss = await this.#evictions.read(this.#statsTimeout(), this.#skipStats, this.#restarts.firstAck);
          chargeLosses(this.#log, this.#opts.failOnEvictions, f, loss);
          if (this.#restarts.noteRestarts(this.#log, loss, f.path, (i) => (this.#tallies[i] as FileTally).path)) await this.#renameBack();
        }
        f.errors.push(...this.#restarts.errorsFor(f.index));
        let report = f.finish(this.#opts.maxErrorRate, false);
        if (report.outcome === 'failed_load' || this.#opts.dry) this.#renaming = false;
        if (this.#renaming) {
          try {
            await markDone(f.path);
            report = { ...report, renamed: true };
          } catch (err) {
            this.#renaming = false;
            f.errors.push(`could not mark done: ${(err as Error).message}`);
            report = f.finish(this.#opts.maxErrorRate, false);
          }
        }
        this.#reports.push(report);
        logFileReport(this.#log, this.#opts.dry, report);
        this.#observer.fileFinished?.(report);
        this.#watermark++;
      }
    } finally {
      this.#finalizing = false;
    }
    this.#wake();
  }

  /**
   * A server restarted: files from RestartGuard.failFrom on fail. Those this run renamed are
   * renamed back (or the log says how) and their reports amended, so the run's report and exit
   * status count them as failed.
   */
  async #renameBack(): Promise<void> {
    this.#renaming = false;
    const from = this.#restarts.failFrom;
    for (const r of await undoRenames(renamesToUndo(this.#reports.map((rep, index) => ({ index, path: rep.path, renamed: rep.renamed })), from))) {
      const f = this.#tallies[r.index] as FileTally;
      const restart = this.#restarts.errorsFor(r.index).join('; ');
      let said: string;
      if (r.undone) {
        said = `${f.path}: renamed back: ${restart}; it will be reloaded by the next run`;
      } else {
        f.renameBack = r.command;
        said = `${f.path}: could not rename it back (${r.why}): it stays marked done, though ${restart}; to reload it, remove the cause, then run: ${r.command}`;
      }
      f.errors.push(said);
      this.#log.log('error', said, { file: f.path, renamed: !r.undone, ...(r.command ? { command: r.command } : {}) });
      this.#reports[r.index] = f.finish(this.#opts.maxErrorRate, !r.undone);
    }
  }

  /** A `stats` reading must not hold up a run (or an exit) for long. */
  #statsTimeout(): number {
    return this.#signal?.aborted ? ABORT_STATS_TIMEOUT_MS : this.#opts.responseTimeoutMs;
  }

  /** A server given up on (or torn down) is not asked: it would only cost a timeout per file. */
  readonly #skipStats = (server: string): string | null => {
    const conn = this.#connections.find((c) => c.label === server);
    const state = conn?.state;
    return state === 'gone' || state === 'destroyed' ? `its connection is ${state}` : null;
  };

  async #untilSettled(): Promise<void> {
    while (this.#watermark < this.#tallies.length && !this.#fatal) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #fail(err: Error): void {
    if (this.#fatal) return;
    this.#fatal = err;
    for (const c of this.#connections) c.destroy(err);
    this.#wake();
  }

  async #stop(): Promise<void> {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    try {
      await this.#finalized;
      await Promise.allSettled(this.#connections.map((c) => c.close()));
    } finally {
      // Nothing may keep the process alive after the run: no timer, no socket, no thread.
      if (this.#abortTimer !== null) clearTimeout(this.#abortTimer);
      for (const c of this.#connections) c.destroy();
      await this.#encoder?.close();
    }
  }
}
