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
 * The session wires them, nothing more: the feed (feed.ts: read, encode, route; the same code
 * the cluster's split runs) hands each lane's frames to its connection (route-lanes.ts: the
 * Router and what the log says about its servers); `#settled` takes each batch's outcome back to
 * the file's tally and asks settle to go on. One RoomWait (room.ts) holds both waits: reading
 * for room, and `load` for its files to settle.
 *
 * Order is what keeps the last line winning: frames reach the lanes in file and line order, and
 * each lane is one connection, on which memcached applies commands in order. Reading the next
 * file overlaps waiting for the acknowledgements of the previous one. Watch mode keeps one
 * LoadSession (threads, lanes, eviction baselines) for its whole session and calls `load` each round.
 */
import type { Writable } from 'node:stream';
import type { RunOptions } from '../config/options.js';
import { InterruptedError } from '../errors.js';
import type { BatchSettled } from '../memcached/router.js';
import { FileTally } from '../report/file-tally.js';
import { silentLogger, type Logger } from '../report/logger.js';
import type { LoadObserver } from '../report/observer.js';
import { summarize, type RunReport } from '../report/run-report.js';
import { Feed } from './feed.js';
import { RoomWait } from './room.js';
import { RouteLanes } from './route-lanes.js';
import { Settler } from './settle.js';

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
  readonly #signal: AbortSignal | undefined;
  readonly #observer: LoadObserver;
  /** Read, encode and route (feed.ts): the stages the cluster's split runs too. */
  readonly #feed: Feed;
  /** null with --dry: nothing is sent. */
  readonly #lanes: RouteLanes | null;
  /** Reading waits here for room, and `load` for its files to settle. */
  readonly #room = new RoomWait();
  /** The files of the current `load`. */
  #settler: Settler | null = null;
  #fatal: Error | null = null;
  #abortTimer: NodeJS.Timeout | null = null;

  /** Starts the worker threads and the lanes; `stop()` must follow, whatever happens. */
  constructor(opts: RunOptions, hooks: LoadHooks = {}) {
    this.#opts = opts;
    this.#log = hooks.logger ?? silentLogger;
    this.#signal = hooks.signal;
    this.#observer = hooks.observer ?? {};
    this.#feed = new Feed(
      opts,
      {
        lane: (file, lane, frames, records) => {
          file.addSent(records);
          this.#lanes?.router.send(lane, { buf: frames, records, tag: file.index });
        },
        ended: (file, error, why) => {
          if (error) this.#log.log('error', why as string, { file: file.path, code: error.code });
          this.#settler?.check();
        },
        full: () => this.#lanes?.router.full === true,
        stopped: (file) => this.#fatal ?? (this.#signal?.aborted ? new InterruptedError(`${file.path}: interrupted`, { file: file.path }) : null),
      },
      { log: this.#log, room: this.#room, onFatal: (err) => this.#fail(err), observer: this.#observer, dryOutput: hooks.dryOutput },
    );
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (this.#signal?.aborted) this.#onAbort();
    this.#lanes = opts.dry ? null : new RouteLanes(opts, this.#log, this.#observer, { settled: (s) => this.#settled(s), room: () => this.#room.wake() });
  }

  /** Takes the servers' counters as the baseline, before any file. */
  async start(): Promise<void> {
    await this.#lanes?.baseline(this.#statsTimeout());
  }

  /**
   * Loads `files` in order and resolves once each has its report: the run, or a round of watch
   * mode. `announce` logs how many files there are (the run has done so before starting).
   */
  async load(files: readonly string[], { started = performance.now(), announce = true } = {}): Promise<RunReport> {
    const router = this.#lanes?.router ?? null;
    this.#lanes?.revive();
    const settler = new Settler({
      maxErrorRate: this.#opts.maxErrorRate,
      dry: this.#opts.dry,
      failOnEvictions: this.#opts.failOnEvictions,
      log: this.#log,
      observer: this.#observer,
      readLosses: router === null ? null : (firstAck) => router.readLosses(this.#statsTimeout(), firstAck),
      onPass: () => this.#room.wake(),
    });
    this.#settler = settler;
    if (announce) logFilesFound(files, this.#opts, this.#log, this.#observer);
    for (const [index, path] of files.entries()) {
      if (this.#signal?.aborted || this.#fatal) break;
      const file = new FileTally(path, index, performance.now());
      settler.add(file);
      this.#log.log('info', `Processing ${file.path}`, { file: file.path });
      this.#feed.end(file, await this.#feed.read(file));
    }
    await this.#room.until(() => settler.done || this.#fatal !== null);
    await settler.flush();
    if (this.#fatal) throw this.#fatal;
    return summarize(settler.reports, this.#opts, started, this.#signal?.aborted === true, this.nodeFigures(settler.reports));
  }

  /** Per-node figures of every load of the session so far, evictions from `files`' reports. */
  nodeFigures(files: RunReport['files']): RunReport['nodes'] {
    return this.#lanes?.nodeFigures(files) ?? [];
  }

  /** Between rounds of a watch: a lost server that is back connects now, not at the next file (route-lanes.ts). */
  probeDown(): void {
    this.#lanes?.probeDown();
  }

  /** Waits for every outcome, then lets go of sockets, threads and timers. */
  async stop(): Promise<void> {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    try {
      await this.#settler?.flush();
      await this.#lanes?.router.close();
    } finally {
      // Nothing may keep the process alive after the run: no timer, no socket, no thread.
      if (this.#abortTimer !== null) clearTimeout(this.#abortTimer);
      this.#lanes?.router.destroy();
      await this.#feed.close();
    }
  }

  /** The acknowledgement path: a batch's outcome goes back to its file, and settle goes on. */
  #settled(s: BatchSettled): void {
    // The lane is done with the bytes: acknowledged, or given up on and never resent.
    this.#feed.recycle(s.frames);
    this.#observer.batchSettled?.(s);
    // Batches are sent only within a load, whose settler outlives them: load() waits for them all.
    const settler = this.#settler as Settler;
    const file = settler.tally(s.tag);
    file.batchSettled(s);
    if (s.loaded > 0) settler.stored(s.server, file.index);
    for (const f of s.failures) this.#feed.fileLog.failure(file, s.server, f.kind, f.message);
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
      this.#lanes?.router.destroy(new InterruptedError('interrupted before the server acknowledged'));
    }, ABORT_SETTLE_MS);
    this.#room.wake();
  };

  /** A `stats` reading must not hold up a run (or an exit) for long. */
  #statsTimeout(): number {
    return this.#signal?.aborted ? ABORT_STATS_TIMEOUT_MS : this.#opts.responseTimeoutMs;
  }

  #fail(err: Error): void {
    if (this.#fatal) return;
    this.#fatal = err;
    this.#lanes?.router.destroy(err);
    this.#room.wake();
  }
}

export function logFilesFound(files: readonly string[], opts: RunOptions, log: Logger, observer: LoadObserver | undefined): void {
  log.log('info', `Found ${files.length} file(s) matching ${opts.pattern}`, { files: files.length });
  observer?.filesFound?.(files.length);
}
