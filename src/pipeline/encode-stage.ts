/**
 * The encode stage: whole-line chunks in, each file's chunks parsed and encoded into frames per
 * server (on worker threads, inline with --workers 0, or inline until threads pay with --workers
 * auto: auto-threads.ts), and back out strictly in sequence:
 *
 *   submit(file, chunk) ─ seq n ─► encoders (any order) ─► Sequencer ─► onSequenced(n), n+1, …
 *
 * Its output is plain data: a ChunkResult per chunk (frames and record counts per server,
 * rejects by reason, samples), a marker for a line over --max-line-bytes, and one for the end of
 * each file. Nothing in it knows about sockets. It bounds the chunks in hand; the loader reads
 * on only while `hasRoom`.
 */
import { defaultWorkers, type RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import type { MemcLoadError } from '../errors.js';
import type { ChunkItem } from '../logfile/line-chunker.js';
import { laneNodes, runLanes } from '../pool/lanes.js';
import type { FileTally } from '../report/file-tally.js';
import { BufferPool } from './buffer-pool.js';
import type { ChunkResult, EncodeSettings } from './chunk-types.js';
import { AutoEncoder, autoTestHook, type AutoStart } from './auto-threads.js';
import { InlineEncoder, WorkerPool, type ChunkEncoder } from './encoders.js';
import { resolveEncoder } from './native-encode.js';
import { Sequencer } from './sequencer.js';

export type Sequenced =
  | { readonly kind: 'data'; readonly file: FileTally; readonly result: ChunkResult }
  | { readonly kind: 'too_long'; readonly file: FileTally; readonly blank: boolean; readonly bytes: number }
  | { readonly kind: 'end'; readonly file: FileTally; readonly error: MemcLoadError | null };

export class EncodeStage {
  readonly #encoder: ChunkEncoder;
  readonly #sequencer: Sequencer<Sequenced>;
  /** Chunk buffers come back from the encoders and are cut into again. */
  readonly #chunkBuffers: BufferPool;
  readonly #chunkFiles = new Map<number, FileTally>();
  /** The bound on chunks in hand for a fixed --workers; -1 with auto, whose bound follows its threads. */
  readonly #fixedInHand: number;
  /** Per output position (a ChunkResult's frames and records): its lane (pool/lanes.ts). */
  readonly laneOf: readonly number[];
  #nextSeq = 0;
  /** The last chunk submitted as a view (encoded in place): its buffer is not the pool's. */
  #lentSeq = -1;
  /** Chunks submitted to encoders and not yet out of the sequencer. */
  #inHand = 0;

  /**
   * `onSequenced` gets every entry in submission order; `onFatal` a worker thread's failure.
   * `maxSamples`: rejected lines per chunk reported with their reason. `keepThreads`: the worker
   * threads are parked at close for the next stage of the same settings (encoders.ts).
   * `onThreads`: with --workers auto, told once if and when encoder threads start.
   */
  constructor(
    o: RunOptions,
    maxSamples: number,
    onSequenced: (e: Sequenced) => void,
    onFatal: (err: Error) => void,
    keepThreads = false,
    onThreads: (start: AutoStart) => void = () => {},
  ) {
    const settings: EncodeSettings = {
      maxLineBytes: o.maxLineBytes,
      ttl: o.ttl,
      packed: o.packed,
      dry: o.dry,
      serverLabels: DEVICE_TYPES.map((t) => o.servers[t].label),
      pools: DEVICE_TYPES.map((t) => laneNodes(o.servers[t])),
      distribution: o.distribution,
      maxSamples,
      encoder: resolveEncoder(o.encoder),
    };
    this.laneOf = runLanes(DEVICE_TYPES.map((t) => o.servers[t])).laneOf;
    this.#sequencer = new Sequencer<Sequenced>((e) => {
      if (e.kind === 'data') this.#inHand--;
      onSequenced(e);
    });
    const onResult = (seq: number, result: ChunkResult, input: ArrayBuffer) => {
      const file = this.#chunkFiles.get(seq) as FileTally;
      this.#chunkFiles.delete(seq);
      // A lent chunk's memory is the chunker's or the inflater's, never the pool's.
      if (seq !== this.#lentSeq) this.#chunkBuffers.give(input);
      this.#sequencer.put(seq, { kind: 'data', file, result });
    };
    const cores = defaultWorkers();
    if (o.workers === 'auto') {
      this.#encoder = new AutoEncoder(settings, onResult, onFatal, { cores, keepThreads, onStart: onThreads, force: autoTestHook() });
      this.#fixedInHand = -1;
    } else if (o.workers > 0) {
      this.#encoder = WorkerPool.open(o.workers, settings, onResult, onFatal, keepThreads);
      this.#fixedInHand = inHandFor(o.workers);
    } else {
      this.#encoder = new InlineEncoder(settings, onResult);
      this.#fixedInHand = 1;
    }
    // auto: room for the most threads it may start; the pool keeps only what is given back to it.
    this.#chunkBuffers = new BufferPool(inHandFor(o.workers === 'auto' ? cores : o.workers) + 1, o.batchBytes + (o.batchBytes >>> 2));
  }

  /** Where the line chunker cuts chunks from. */
  readonly takeBuffer = (n: number): Uint8Array => this.#chunkBuffers.take(n);

  get hasRoom(): boolean {
    return this.#inHand < this.#maxInHand;
  }

  /** The bound follows the mode: auto holds one chunk while inline, as many as its threads need after. */
  get #maxInHand(): number {
    return this.#fixedInHand >= 0 ? this.#fixedInHand : inHandFor((this.#encoder as AutoEncoder).threads);
  }

  /**
   * Hands one item of `file` on, under the next sequence number. `sample`: its rejected lines are
   * described for the log; false once the file's log has all the samples it takes (file-log.ts).
   */
  submit(file: FileTally, item: ChunkItem, sample = true): void {
    const seq = this.#nextSeq++;
    if (item.kind === 'too_long') {
      this.#sequencer.put(seq, { kind: 'too_long', file, blank: item.blank, bytes: item.bytes });
      return;
    }
    this.#inHand++;
    this.#chunkFiles.set(seq, file);
    let buf = item.buf;
    if (item.lent === true) {
      // Encoded before this returns, a view will do; a thread needs a buffer of its own to transfer.
      if (this.#encoder.inPlace()) this.#lentSeq = seq;
      else {
        buf = this.#chunkBuffers.take(buf.length);
        buf.set(item.buf);
      }
    }
    this.#encoder.submit(seq, buf, sample);
  }

  /** The end of `file`, after all its chunks (`error`: why reading stopped early). */
  end(file: FileTally, error: MemcLoadError | null): void {
    this.#sequencer.put(this.#nextSeq++, { kind: 'end', file, error });
  }

  /** A frame buffer nothing reads any more (its batch has an outcome), for reuse. */
  recycle(frames: ArrayBuffer): void {
    this.#encoder.recycle(frames);
  }

  close(): Promise<void> {
    return this.#encoder.close();
  }
}

/** Two chunks per worker keep every worker busy while the main thread applies results; inline, one. */
function inHandFor(threads: number): number {
  return threads > 0 ? threads * 2 + 1 : 1;
}
