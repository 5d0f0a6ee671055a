/**
 * The stages both modes run up to the lanes, written once: read a file (inflate, cut whole-line
 * chunks), encode the chunks (encode-stage.ts), and route what comes back, in sequence: the lines
 * count into the file's tally, rejected lines are sampled to the log, and each lane's frames go
 * to where the mode sends a lane's frames:
 *
 *   read ─► EncodeStage ─► route ─► FileTally (lines, rejects) + FileLog (samples)
 *                                └─► LaneSink.lane(file, lane, frames, records), in lane order:
 *                                      one host: the lane's connection (session.ts)
 *                                      cluster:  the lane's segment in the spool (cluster/split.ts)
 *
 * Reading waits (RoomWait) while the encoders hold their bound, or while the sink or the --dry
 * output is full; whatever frees room wakes it. Frame buffers come back through `recycle` once
 * the sink is done with them.
 */
import type { Writable } from 'node:stream';
import { DEFAULTS, type RunOptions } from '../config/options.js';
import type { MemcLoadError } from '../errors.js';
import { gunzipChoice, type Inflater } from '../logfile/gunzip-choice.js';
import { encoderChoice, type Encoder } from './native-encode.js';
import type { ChunkItem } from '../logfile/line-chunker.js';
import { readFile } from '../logfile/read-file.js';
import { describeTooLong } from '../record/describe-reject.js';
import type { FileTally } from '../report/file-tally.js';
import type { Logger } from '../report/logger.js';
import { PROBE_MS, type AutoStart } from './auto-threads.js';
import type { LoadObserver } from '../report/observer.js';
import { EncodeStage, type Sequenced } from './encode-stage.js';
import { FileLog } from './file-log.js';
import type { RoomWait } from './room.js';

/** Where the mode sends a lane's frames. */
export interface LaneSink {
  /** One lane's frames of one chunk, in sequence order; `Feed.recycle(frames.buffer)` once done. */
  lane(file: FileTally, lane: number, frames: Uint8Array, records: number): void;
  /** Every chunk of `file` is routed; `error`: why reading stopped early (the tally has it too). */
  ended(file: FileTally, error: MemcLoadError | null, why: string | null): void;
  /** A lane is full: reading waits until the room is woken and this says false. */
  full(): boolean;
  /** Why reading must stop now (a fatal error, an abort), or null: thrown to the reader. */
  stopped(file: FileTally): Error | null;
}

export interface FeedHooks {
  readonly log: Logger;
  /** Woken by the feed when chunks leave the encoders; the mode wakes it when a lane has room. */
  readonly room: RoomWait;
  /** A worker thread failed. */
  readonly onFatal: (err: Error) => void;
  readonly observer?: LoadObserver;
  /** With --dry: where records are printed. */
  readonly dryOutput?: Writable;
  /** Park the worker threads at close for the next Feed of the same settings (the cluster's splits, file after file). */
  readonly keepThreads?: boolean;
}

export class Feed {
  readonly #opts: RunOptions;
  readonly #sink: LaneSink;
  readonly #room: RoomWait;
  readonly #observer: LoadObserver;
  readonly #dryOutput: Writable | undefined;
  readonly #fileLog: FileLog;
  readonly #encode: EncodeStage;
  readonly #inflater: Inflater;
  /** What encodes clean lines; null: none does, every line goes the general way (--packed, --dry). */
  readonly #encoder: Encoder | null;
  #dryCongested = false;

  /** Starts the worker threads; `close()` must follow, whatever happens. */
  constructor(opts: RunOptions, sink: LaneSink, hooks: FeedHooks) {
    this.#opts = opts;
    this.#sink = sink;
    this.#room = hooks.room;
    this.#observer = hooks.observer ?? {};
    this.#dryOutput = opts.dry ? hooks.dryOutput : undefined;
    // A cluster plan made by an earlier version has no logRejected: its default, not no cap.
    const samples = opts.logRejected ?? DEFAULTS.logRejected;
    this.#fileLog = new FileLog(hooks.log, samples);
    const gunzip = gunzipChoice(opts.gunzip);
    this.#inflater = gunzip.inflater;
    if (gunzip.note !== null) hooks.log.log(gunzip.note.level, gunzip.note.msg);
    // EncodeStage resolves the same choice (resolveEncoder) for its threads; the line is said here.
    const encoding = encoderChoice(opts.encoder);
    if (encoding.note !== null) hooks.log.log(encoding.note.level, encoding.note.msg);
    this.#encoder = opts.packed || opts.dry ? null : encoding.encoder;
    this.#encode = new EncodeStage(opts, samples, (e) => this.#route(e), hooks.onFatal, hooks.keepThreads, (s) => hooks.log.log('info', threadsStarted(s)));
    this.#dryOutput?.on('drain', () => {
      this.#dryCongested = false;
      this.#room.wake();
    });
  }

  /** Samples and error replies of a file go to the log through here (capped per file). */
  get fileLog(): FileLog {
    return this.#fileLog;
  }

  /** Reads `file` to its end into the encoders. Resolves to null, or to why reading stopped early. */
  read(file: FileTally): Promise<MemcLoadError | null> {
    const o = this.#opts;
    const observer = this.#observer;
    file.readWith(this.#inflater, this.#encoder);
    return readFile(
      file.path,
      {
        batchBytes: o.batchBytes,
        maxLineBytes: o.maxLineBytes,
        inflater: this.#inflater,
        takeBuffer: this.#encode.takeBuffer,
        lend: true,
        onOpen: observer.fileStarted && ((size) => observer.fileStarted?.(file.path, file.index, size)),
        onBytesRead: observer.bytesRead && ((bytes) => observer.bytesRead?.(file.path, bytes)),
      },
      (item) => this.#submit(file, item),
    );
  }

  /** The end of `file`, after its last chunk (`error`: why reading stopped early). */
  end(file: FileTally, error: MemcLoadError | null): void {
    this.#encode.end(file, error);
  }

  /** A frame buffer the sink is done with, for reuse. */
  recycle(frames: ArrayBuffer): void {
    this.#encode.recycle(frames);
  }

  close(): Promise<void> {
    return this.#encode.close();
  }

  /** Waits for room downstream, then hands one chunk to the encode stage. */
  async #submit(file: FileTally, item: ChunkItem): Promise<void> {
    const sink = this.#sink;
    await this.#room.until(() => sink.stopped(file) !== null || (this.#encode.hasRoom && !sink.full() && !this.#dryCongested));
    const stop = sink.stopped(file);
    if (stop !== null) throw stop;
    // Samples reach the log in line order, so once a file's log is full, a later chunk's would be dropped.
    this.#encode.submit(file, item, !this.#fileLog.full(file));
  }

  /** Route stage, in sequence order: the lines count into the file, the frames go to their lanes. */
  #route(entry: Sequenced): void {
    const file = entry.file;
    if (entry.kind === 'end') {
      // A line number of the file, blank lines counted; the counts' lines= leaves them out (issue #20).
      const at = file.lineNumber === 0 ? '' : `, after line ${file.lineNumber} of the file (blank lines included)`;
      const why = entry.error ? `${entry.error.message}${at}` : null;
      file.endOfInput(why);
      this.#fileLog.ended(file);
      this.#sink.ended(file, entry.error, why);
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
    } else {
      // Per position, in the order the encoders laid them out (pools end to end), to its lane.
      const laneOf = this.#encode.laneOf;
      for (let i = 0; i < r.frames.length; i++) {
        const frames = r.frames[i];
        if (frames) this.#sink.lane(file, laneOf[i] as number, frames, r.records[i] as number);
      }
    }
    this.#room.wake();
  }
}

/** --workers auto's one line when it leaves inline parsing, with the figures that decided it. */
export function threadsStarted(s: AutoStart): string {
  const why = s.forced
    ? 'forced by MEMC_LOAD_TEST_AUTO_THREADS (test hook)'
    : `main thread busy ${s.windows.map((w) => `${Math.round(w.busy * 100)}%`).join(', ')} and ${s.windows.map((w) => w.idleCores.toFixed(2)).join(', ')} core(s) idle in the last ${s.windows.length} windows of ${PROBE_MS} ms`;
  return `workers auto: starting ${s.threads} encoder thread(s): ${why}`;
}
