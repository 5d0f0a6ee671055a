/**
 * The run, as four stages that each own one thing:
 *
 *   read (logfile/)          encode (encode-stage.ts)          route (memcached/router.ts)     settle (settle.ts)
 *   gunzip → whole-line  ──► workers parse + encode, then  ──► one lane per server: its    ──► outcome per file,
 *   chunks, oldest file      a Sequencer puts chunks back      connection, order, fence,       renames in order
 *   first                    in file and line order            retries, eviction baseline      (the watermark)
 *        ▲                                                          │ BatchSettled (counts, once)
 *        └── waits while the encoders hold their bound, or a lane is full ◄┘──► FileTally ──► settle.check()
 *
 * A record's trip passes each stage once: `#read` hands chunks to the encode stage; `#route`
 * gets them back in sequence, counts the lines into the file's tally and gives each server its
 * frames; `#settled` takes each batch's outcome back to the tally and asks settle to go on.
 *
 * Order is what keeps the last line winning: frames reach the lanes in file and line order, and
 * each lane is one connection, on which memcached applies commands in order. Reading the next
 * file overlaps waiting for the acknowledgements of the previous one. Watch mode keeps one
 * LoadSession (threads, lanes, eviction baselines) for its whole session and calls `load` each round.
 */
import type { Writable } from 'node:stream';
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { InterruptedError } from '../errors.js';
import { inlineGunzipAvailable } from '../logfile/inline-gunzip.js';
import type { ChunkItem } from '../logfile/line-chunker.js';
import { readFile } from '../logfile/read-file.js';
import { describeTooLong } from '../record/describe-reject.js';
import { connectFailure } from '../memcached/connect-failure.js';
import { laneOptions, Router, type BatchSettled } from '../memcached/router.js';
import { laneAddresses } from '../pool/lanes.js';
import { FileTally } from '../report/file-tally.js';
import type { FileReport } from '../report/file-report.js';
import { NodeTally, type NodeFigures } from '../report/node-tally.js';
import { silentLogger, type Logger } from '../report/logger.js';
import type { LoadObserver } from '../report/observer.js';
import { summarize, type RunReport } from '../report/run-report.js';
import { EncodeStage, type Sequenced } from './encode-stage.js';
import { FileLog, LOGGED_SAMPLES_PER_FILE } from './file-log.js';
import { Settler } from './settle.js';
import { logUnknown } from './settle-log.js';

export interface LoadHooks {
  readonly logger?: Logger;
  /** With --dry: where records are printed. */
  readonly dryOutput?: Writable;
  /** Aborting stops reading; what was sent is settled, nothing unacknowledged is renamed. */
  readonly signal?: AbortSignal;
  /** Load exactly these files, in this order, instead of listing --pattern. */
  readonly files?: readonly string[];
  /** Metrics and the progress line listen here. */
  readonly observer?: LoadObserver;
}

/** After an abort, how long acknowledgements of what was already sent are awaited. */
const ABORT_SETTLE_MS = 3000;
/** After an abort, a `stats` reading gets at most this long: the exit must stay prompt. */
const ABORT_STATS_TIMEOUT_MS = 500;

/**
 * The stages, open: worker threads, lanes and eviction baselines, for one run or for a whole
 * watch session, whose rounds each `load` their files.
 */
export class LoadSession {
  readonly #opts: RunOptions;
  readonly #log: Logger;
  readonly #dryOutput: Writable | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #observer: LoadObserver;
  readonly #fileLog: FileLog;
  readonly #encode: EncodeStage;
  /** null with --dry: nothing is sent. */
  readonly #router: Router | null;
  /** --gunzip inline, and this Node has what it needs. */
  readonly #inlineGunzip: boolean;
  /** The files of the current `load`. */
  #settler: Settler | null = null;
  /** Per node, for the whole session (a watch session's rounds add up). */
  readonly #nodes: NodeTally;
  #dryCongested = false;
  #waiters: (() => void)[] = [];
  #fatal: Error | null = null;
  #abortTimer: NodeJS.Timeout | null = null;
  /** Servers said to be unreachable and not reached since: said once, not per reading or attempt. */
  readonly #unreached = new Set<string>();

  /** Starts the worker threads and the lanes; `stop()` must follow, whatever happens. */
  constructor(opts: RunOptions, hooks: LoadHooks = {}) {
    this.#opts = opts;
    this.#log = hooks.logger ?? silentLogger;
    this.#dryOutput = hooks.dryOutput;
    this.#signal = hooks.signal;
    this.#observer = hooks.observer ?? {};
    this.#fileLog = new FileLog(this.#log);
    this.#encode = new EncodeStage(opts, LOGGED_SAMPLES_PER_FILE, (e) => this.#route(e), (err) => this.#fail(err));
    this.#inlineGunzip = opts.gunzip === 'inline' && inlineGunzipAvailable();
    if (opts.gunzip === 'inline' && !this.#inlineGunzip) {
      this.#log.log('warn', `Inline gunzip is not verified on Node.js ${process.version}: inflating on libuv's thread pool instead (--gunzip pool)`);
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (this.#signal?.aborted) this.#onAbort();
    this.#router = opts.dry ? null : this.#openLanes();
    this.#nodes = new NodeTally(
      opts.dry ? [] : DEVICE_TYPES.flatMap((type) => opts.servers[type].nodes.map((n) => ({ server: n.label, type }))),
    );
    if (opts.dry) {
      this.#dryOutput?.on('drain', () => {
        this.#dryCongested = false;
        this.#wake();
      });
    }
  }

  /** Takes the servers' counters as the baseline, before any file. */
  async start(): Promise<void> {
    if (this.#router === null) return;
    const loss = await this.#router.readLosses(this.#statsTimeout());
    for (const [server, why] of Object.entries(loss.unreachable)) this.#unreachable(server, why);
    logUnknown(this.#log, loss, 'before the run');
  }

  /** A server that never answered: one line for it, however many readings and attempts fail. */
  #unreachable(server: string, why: string): void {
    if (this.#unreached.has(server)) return;
    this.#unreached.add(server);
    const retries = `retrying up to ${this.#opts.retries} time(s) when records are sent to it (--retries)`;
    this.#log.log('warn', `could not connect to memcached ${server} (${why}); ${retries}`, { server, error: why });
  }

  #openLanes(): Router {
    const o = this.#opts;
    const router = new Router(
      laneAddresses(DEVICE_TYPES.map((t) => o.servers[t])),
      laneOptions(o),
      {
        settled: (s) => this.#settled(s),
        room: () => this.#wake(),
        up: (server) => {
          this.#observer.serverUp?.(server);
          if (this.#unreached.delete(server)) this.#log.log('info', `memcached ${server} answers now`, { server });
        },
        lost: (server, err, reached) => {
          this.#observer.serverDown?.(server, err);
          const never = reached ? null : connectFailure(err);
          if (never !== null) this.#unreachable(server, never);
          else this.#log.log('warn', `Lost connection to ${server} (${err.message}); reconnecting`, { server });
        },
        gone: (server, err) => {
          this.#observer.serverDown?.(server, err);
          this.#log.log('error', err.message, { server });
        },
      },
      // One hint per lane, in laneAddresses' order: a pool's every node names its type's flag.
      DEVICE_TYPES.flatMap((t) => o.servers[t].nodes.map(() => `is memcached running there? Check --${t} (or MEMC_LOAD_${t.toUpperCase()})`)),
    );
    this.#observer.bufferedBytes?.(() => router.bufferedBytes());
    return router;
  }

  /**
   * Loads `files` in order and resolves once each has its report: the run, or a round of watch
   * mode. `announce` logs how many files there are (the run has done so before starting).
   */
  async load(files: readonly string[], { started = performance.now(), announce = true } = {}): Promise<RunReport> {
    const router = this.#router;
    // A server given up on in an earlier round of a watch session is tried again: it may be back.
    for (const server of router?.revive() ?? []) {
      this.#log.log('info', `Trying memcached ${server} again (given up on in an earlier round)`, { server });
    }
    const settler = new Settler({
      maxErrorRate: this.#opts.maxErrorRate,
      dry: this.#opts.dry,
      failOnEvictions: this.#opts.failOnEvictions,
      log: this.#log,
      observer: this.#observer,
      readLosses: router === null ? null : (firstAck) => router.readLosses(this.#statsTimeout(), firstAck),
      onPass: () => this.#wake(),
    });
    this.#settler = settler;
    if (announce) logFilesFound(files, this.#opts, this.#log, this.#observer);
    for (const [index, path] of files.entries()) {
      if (this.#signal?.aborted || this.#fatal) break;
      const file = new FileTally(path, index, performance.now());
      settler.add(file);
      await this.#read(file);
    }
    while (!settler.done && !this.#fatal) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    await settler.flush();
    if (this.#fatal) throw this.#fatal;
    return summarize(settler.reports, this.#opts, started, this.#signal?.aborted === true, this.#nodes.figures(settler.reports));
  }

  /** Per-node figures of every load of the session so far, evictions from `files`' reports. */
  nodeFigures(files: readonly FileReport[]): NodeFigures[] {
    return this.#nodes.figures(files);
  }

  /** Waits for every outcome, then lets go of sockets, threads and timers. */
  async stop(): Promise<void> {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    try {
      await this.#settler?.flush();
      await this.#router?.close();
    } finally {
      // Nothing may keep the process alive after the run: no timer, no socket, no thread.
      if (this.#abortTimer !== null) clearTimeout(this.#abortTimer);
      this.#router?.destroy();
      await this.#encode.close();
    }
  }

  /** Read stage: the file's inflated pieces → whole-line chunks → the encode stage. */
  async #read(file: FileTally): Promise<void> {
    this.#log.log('info', `Processing ${file.path}`, { file: file.path });
    const error = await readFile(
      file.path,
      {
        batchBytes: this.#opts.batchBytes,
        maxLineBytes: this.#opts.maxLineBytes,
        inline: this.#inlineGunzip,
        takeBuffer: this.#encode.takeBuffer,
        onOpen: (size) => this.#observer.fileStarted?.(file.path, file.index, size),
        onBytesRead: (bytes) => this.#observer.bytesRead?.(file.path, bytes),
      },
      (item) => this.#submit(file, item),
    );
    this.#encode.end(file, error);
  }

  /** Waits for room downstream, then hands one chunk to the encode stage. */
  async #submit(file: FileTally, item: ChunkItem): Promise<void> {
    while (!this.#hasRoom()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    if (this.#fatal) throw this.#fatal;
    if (this.#signal?.aborted) throw new InterruptedError(`${file.path}: interrupted`, { file: file.path });
    this.#encode.submit(file, item);
  }

  #hasRoom(): boolean {
    if (this.#fatal || this.#signal?.aborted) return true;
    return this.#encode.hasRoom && !this.#router?.full && !this.#dryCongested;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Route stage, in sequence order: the lines count into the file, the frames go to their lanes. */
  #route(entry: Sequenced): void {
    const file = entry.file;
    if (entry.kind === 'end') {
      let why: string | null = null;
      if (entry.error) {
        why = `${entry.error.message}, after line ${file.lineNumber}`;
        this.#log.log('error', why, { file: file.path, code: entry.error.code });
      }
      file.endOfInput(why);
      this.#settler?.check();
      return;
    }
    if (entry.kind === 'too_long') {
      const line = file.addTooLong(entry.blank);
      if (line === null) return;
      this.#observer.linesApplied?.(1, { too_long: 1 });
      this.#fileLog.sample(file, line, 'too_long', describeTooLong(entry.bytes, this.#opts.maxLineBytes));
      return;
    }
    const r = entry.result;
    const base = file.addChunk(r);
    for (const s of r.samples) this.#fileLog.sample(file, base + s.line, s.reason, s.detail);
    this.#observer.linesApplied?.(r.nonBlank, r.rejected);
    if (r.dryText !== null) {
      for (const n of r.records) file.addPrinted(n);
      if (this.#dryOutput && !this.#dryOutput.write(r.dryText)) this.#dryCongested = true;
    }
    const router = this.#router;
    if (router !== null) {
      // One lane per node of every pool, in the order the encoders laid them out.
      for (let i = 0; i < r.frames.length; i++) {
        const frames = r.frames[i];
        if (!frames) continue;
        const records = r.records[i] as number;
        file.addSent(records);
        router.send(i, { buf: frames, records, tag: file.index });
      }
    }
    this.#wake();
  }

  /** The acknowledgement path: a batch's outcome goes back to its file, and settle goes on. */
  #settled(s: BatchSettled): void {
    // The lane is done with the bytes: acknowledged, or given up on and never resent.
    this.#encode.recycle(s.frames);
    this.#observer.batchSettled?.(s);
    this.#nodes.batchSettled(s);
    // Batches are sent only within a load, whose settler outlives them: load() waits for them all.
    const settler = this.#settler as Settler;
    const file = settler.tally(s.tag);
    file.batchSettled(s);
    if (s.loaded > 0) settler.stored(s.server, file.index);
    for (const f of s.failures) this.#fileLog.failure(file, s.server, f.kind, f.message);
    settler.check();
  }

  /**
   * Stop reading now (a reader waiting for room is woken to see the abort); what was sent gets
   * ABORT_SETTLE_MS to be acknowledged, and whatever is still unacknowledged then is abandoned:
   * its files fail to load, so they are not renamed.
   */
  readonly #onAbort = (): void => {
    if (this.#abortTimer !== null) return;
    this.#abortTimer = setTimeout(() => {
      this.#router?.destroy(new InterruptedError('interrupted before the server acknowledged'));
    }, ABORT_SETTLE_MS);
    this.#wake();
  };

  /** A `stats` reading must not hold up a run (or an exit) for long. */
  #statsTimeout(): number {
    return this.#signal?.aborted ? ABORT_STATS_TIMEOUT_MS : this.#opts.responseTimeoutMs;
  }

  #fail(err: Error): void {
    if (this.#fatal) return;
    this.#fatal = err;
    this.#router?.destroy(err);
    this.#wake();
  }
}

export function logFilesFound(files: readonly string[], opts: RunOptions, log: Logger, observer: LoadObserver | undefined): void {
  log.log('info', `Found ${files.length} file(s) matching ${opts.pattern}`, { files: files.length });
  observer?.filesFound?.(files.length);
}
