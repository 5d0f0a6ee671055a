import { Worker } from 'node:worker_threads';
import { WorkerError } from '../errors.js';
import { BufferPool, FRAME_BUFFER_MIN_BYTES } from './buffer-pool.js';
import { unsampled, type ChunkResult, type EncodeSettings } from './chunk-types.js';
import { encodeChunk } from './encode-chunk.js';
import { warmUp } from './warm-up.js';
import type { ChunkReply, ChunkRequest } from './worker.js';

/** A chunk's result, and the chunk's own buffer given back for reuse. */
export type ResultHandler = (seq: number, result: ChunkResult, input: ArrayBuffer) => void;

/**
 * Frame buffers kept for reuse. It must cover the frames in use at once, or every chunk past the
 * cap takes fresh memory (first-touch page faults in the encoder) while as many come back only to
 * be dropped: each lane holds up to --max-buffered-bytes of batches (8 MiB, ~40 frames of ~200 KiB,
 * by default), so four lanes keep ~160-220 frames in use. At 64 a run took ~700 fresh buffers;
 * at 512, ~250 (docs/benchmarks.md, optimisation log). The pool never holds more than were in use
 * at once, so the cap adds nothing to the peak memory that the lanes' bound allows.
 */
const FRAME_POOL_MAX = 512;

/** Where chunks get parsed and encoded: the main thread (--workers 0) or a pool of threads. */
export interface ChunkEncoder {
  /** `sample`: rejected lines are described (false once their file's log has all its samples). */
  submit(seq: number, buf: Uint8Array, sample?: boolean): void;
  /** A frame buffer the connections are done with (its batch has an outcome), for reuse. */
  recycle(frames: ArrayBuffer): void;
  /**
   * Whether the next submit encodes its chunk on this thread before it returns, so a view of
   * memory that is reused afterwards will do; otherwise the chunk must be a buffer of its own.
   */
  inPlace(): boolean;
  close(): Promise<void>;
}

/** Single-threaded mode: same code, run in place; gunzip and sockets still overlap via libuv. */
export class InlineEncoder implements ChunkEncoder {
  readonly #settings: EncodeSettings;
  readonly #quiet: EncodeSettings;
  readonly #onResult: ResultHandler;
  readonly #frames = new BufferPool(FRAME_POOL_MAX, FRAME_BUFFER_MIN_BYTES);
  readonly #alloc = (n: number): Uint8Array => this.#frames.take(n);

  constructor(settings: EncodeSettings, onResult: ResultHandler) {
    this.#settings = settings;
    this.#quiet = unsampled(settings);
    this.#onResult = onResult;
    // The line chunker's chunks are Buffers (line-chunker.ts).
    warmUp(this.#quiet, true);
  }

  submit(seq: number, buf: Uint8Array, sample = true): void {
    this.#onResult(seq, encodeChunk(buf, sample ? this.#settings : this.#quiet, true, this.#alloc), buf.buffer as ArrayBuffer);
  }

  recycle(frames: ArrayBuffer): void {
    this.#frames.give(frames);
  }

  inPlace(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}

/**
 * Chunks go to the worker with the fewest chunks in hand, so a slow chunk does not stall a
 * queue behind it; the Sequencer restores order afterwards. Spent frame buffers ride back to
 * the workers with the next chunks, for their own pools.
 *
 * `WorkerPool.open(…, keep)`: a process that encodes file after file with the same settings (the
 * cluster's worker, one split per file) keeps its threads between them. Starting two threads and
 * warming their JIT cost ~0.13 s of CPU a file (issue #19 item 4); a pool closed with no chunk in
 * hand is parked instead (its threads unref'd, so they never keep the process alive) and the next
 * open() with the same size and settings takes it. A pool with a chunk in hand or a failed thread
 * is never parked: a late reply must not reach the next file.
 */
export class WorkerPool implements ChunkEncoder {
  readonly #workers: Worker[] = [];
  readonly #busy: number[] = [];
  readonly #spare: ArrayBuffer[] = [];
  /** Frame buffers a chunk can use up: one per output position (pool/lanes.ts). */
  readonly #positions: number;
  #closing = false;
  #onResult: ResultHandler;
  #onError: (err: Error) => void;
  /** Parked between uses, under this key; null: terminated at close. */
  #park: string | null = null;
  #failed = false;
  #idle: NodeJS.Timeout | null = null;

  /** A parked pool of the same size and settings, or a new one; `keep`: park it at close. */
  static open(size: number, settings: EncodeSettings, onResult: ResultHandler, onError: (err: Error) => void, keep = false): WorkerPool {
    const key = keep ? JSON.stringify([size, settings]) : null;
    const at = key === null ? -1 : PARKED.findIndex((p) => p.#park === key);
    if (at === -1) {
      const pool = new WorkerPool(size, settings, onResult, onError);
      pool.#park = key;
      return pool;
    }
    const pool = PARKED.splice(at, 1)[0] as WorkerPool;
    if (pool.#idle !== null) clearTimeout(pool.#idle);
    pool.#idle = null;
    pool.#closing = false;
    pool.#onResult = onResult;
    pool.#onError = onError;
    for (const w of pool.#workers) w.ref();
    return pool;
  }

  constructor(size: number, settings: EncodeSettings, onResult: ResultHandler, onError: (err: Error) => void) {
    this.#positions = settings.pools?.reduce((n, nodes) => n + nodes.length, 0) ?? settings.serverLabels.length;
    this.#onResult = onResult;
    this.#onError = onError;
    const url = new URL('./worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { workerData: settings });
      worker.on('message', (msg: ChunkReply) => {
        this.#busy[i]--;
        this.#onResult(msg.seq, msg.result, msg.input);
      });
      worker.on('error', (cause) => this.#fail(new WorkerError(`worker thread ${i} failed: ${String(cause)}`, { cause })));
      worker.on('exit', (code) => {
        // While parked (closing, still keyed) a thread that ends is a failure too: the pool must not be taken again.
        if (!this.#closing || this.#park !== null) this.#fail(new WorkerError(`worker thread ${i} exited unexpectedly (code ${code})`));
      });
      this.#workers.push(worker);
      this.#busy.push(0);
    }
  }

  submit(seq: number, buf: Uint8Array, sample = true): void {
    let best = 0;
    for (let i = 1; i < this.#busy.length; i++) if ((this.#busy[i] as number) < (this.#busy[best] as number)) best = i;
    this.#busy[best]++;
    // One frame buffer per position per chunk: as many spares keep the worker's pool stocked.
    const spare = this.#spare.splice(0, this.#positions);
    const req: ChunkRequest = { seq, buf, spare, sample };
    (this.#workers[best] as Worker).postMessage(req, [buf.buffer as ArrayBuffer, ...spare]);
  }

  recycle(frames: ArrayBuffer): void {
    if (this.#spare.length < FRAME_POOL_MAX) this.#spare.push(frames);
  }

  inPlace(): boolean {
    return false;
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const idle = this.#busy.every((n) => n === 0);
    if (this.#park !== null && idle && !this.#failed && PARKED.length < PARK_MAX) {
      this.#onResult = () => {};
      this.#onError = () => {};
      for (const w of this.#workers) w.unref();
      this.#idle = setTimeout(() => void this.#terminate(), PARK_IDLE_MS).unref();
      PARKED.push(this);
      return;
    }
    await this.#terminate();
  }

  #fail(err: Error): void {
    this.#failed = true;
    if (PARKED.includes(this)) void this.#terminate();
    this.#onError(err);
  }

  async #terminate(): Promise<void> {
    this.#closing = true;
    this.#park = null;
    const at = PARKED.indexOf(this);
    if (at !== -1) PARKED.splice(at, 1);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Pools parked between files: a worker process runs --concurrency splits at once. */
const PARKED: WorkerPool[] = [];
const PARK_MAX = 4;
/** A parked pool unused this long is ended: a worker between plans holds no idle threads. */
const PARK_IDLE_MS = 60_000;
