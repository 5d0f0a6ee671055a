import { Worker } from 'node:worker_threads';
import { WorkerError } from '../errors.js';
import type { ChunkResult, EncodeSettings } from './chunk-types.js';
import { encodeChunk } from './encode-chunk.js';
import type { ChunkRequest } from './worker.js';

export type ResultHandler = (seq: number, result: ChunkResult) => void;

/** Where chunks get parsed and encoded: the main thread (--workers 0) or a pool of threads. */
export interface ChunkEncoder {
  submit(seq: number, buf: Uint8Array): void;
  close(): Promise<void>;
}

/** Single-threaded mode: same code, run in place; gunzip and sockets still overlap via libuv. */
export class InlineEncoder implements ChunkEncoder {
  readonly #settings: EncodeSettings;
  readonly #onResult: ResultHandler;

  constructor(settings: EncodeSettings, onResult: ResultHandler) {
    this.#settings = settings;
    this.#onResult = onResult;
  }

  submit(seq: number, buf: Uint8Array): void {
    this.#onResult(seq, encodeChunk(buf, this.#settings));
  }

  async close(): Promise<void> {}
}

/**
 * Chunks go to the worker with the fewest chunks in hand, so a slow chunk does not stall a
 * queue behind it; the Sequencer restores order afterwards.
 */
export class WorkerPool implements ChunkEncoder {
  readonly #workers: Worker[] = [];
  readonly #busy: number[] = [];
  #closing = false;

  constructor(size: number, settings: EncodeSettings, onResult: ResultHandler, onError: (err: Error) => void) {
    const url = new URL('./worker.js', import.meta.url);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { workerData: settings });
      worker.on('message', (msg: { seq: number; result: ChunkResult }) => {
        this.#busy[i]--;
        onResult(msg.seq, msg.result);
      });
      worker.on('error', (cause) => onError(new WorkerError(`worker thread ${i} failed: ${String(cause)}`, { cause })));
      worker.on('exit', (code) => {
        if (!this.#closing) onError(new WorkerError(`worker thread ${i} exited unexpectedly (code ${code})`));
      });
      this.#workers.push(worker);
      this.#busy.push(0);
    }
  }

  submit(seq: number, buf: Uint8Array): void {
    let best = 0;
    for (let i = 1; i < this.#busy.length; i++) if ((this.#busy[i] as number) < (this.#busy[best] as number)) best = i;
    this.#busy[best]++;
    const req: ChunkRequest = { seq, buf };
    (this.#workers[best] as Worker).postMessage(req, [buf.buffer as ArrayBuffer]);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
