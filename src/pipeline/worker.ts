/**
 * Worker thread entry: parse and encode chunks. The input arrives transferred (no copy) and the
 * per-server frames go back transferred, so the main thread only moves ownership of memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BufferPool, FRAME_BUFFER_MIN_BYTES } from './buffer-pool.js';
import { unsampled, type ChunkResult, type EncodeSettings } from './chunk-types.js';
import { encodeChunk } from './encode-chunk.js';
import { warmUp } from './warm-up.js';

export interface ChunkRequest {
  readonly seq: number;
  readonly buf: Uint8Array;
  /** Frame buffers the main thread is done with, for this worker's pool. */
  readonly spare: readonly ArrayBuffer[];
  /** false: the file's log has all its samples already, so no rejected line is described (encoders.ts). */
  readonly sample: boolean;
}

export interface ChunkReply {
  readonly seq: number;
  readonly result: ChunkResult;
  /** The request's chunk buffer, given back for the next chunk. */
  readonly input: ArrayBuffer;
}

const settings = workerData as EncodeSettings;
const quiet = unsampled(settings);
const port = parentPort;
if (port === null) throw new Error('memc-load worker started outside a worker thread');
// Four frames per chunk, a few chunks deep.
const frames = new BufferPool(16, FRAME_BUFFER_MIN_BYTES);
const alloc = (n: number): Uint8Array => frames.take(n);
// Before the first chunk, so V8 optimizes the loop once with every branch seen (warm-up.ts).
warmUp(quiet);

port.on('message', (req: ChunkRequest) => {
  for (const ab of req.spare) frames.give(ab);
  const result = encodeChunk(req.buf, req.sample ? settings : quiet, true, alloc);
  const input = req.buf.buffer as ArrayBuffer;
  const transfer: ArrayBuffer[] = [input];
  for (const f of result.frames) if (f !== null) transfer.push(f.buffer as ArrayBuffer);
  if (result.dryText !== null) transfer.push(result.dryText.buffer as ArrayBuffer);
  const reply: ChunkReply = { seq: req.seq, result, input };
  port.postMessage(reply, transfer);
});
