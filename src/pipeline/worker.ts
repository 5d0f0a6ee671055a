/**
 * Worker thread entry: parse and encode chunks. The input arrives transferred (no copy) and the
 * per-server frames go back transferred, so the main thread only moves ownership of memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EncodeSettings } from './chunk-types.js';
import { encodeChunk } from './encode-chunk.js';

export interface ChunkRequest {
  readonly seq: number;
  readonly buf: Uint8Array;
}

const settings = workerData as EncodeSettings;
const port = parentPort;
if (port === null) throw new Error('memc-load worker started outside a worker thread');

port.on('message', (req: ChunkRequest) => {
  const result = encodeChunk(req.buf, settings);
  const transfer: ArrayBuffer[] = [];
  for (const f of result.frames) if (f !== null) transfer.push(f.buffer as ArrayBuffer);
  if (result.dryText !== null) transfer.push(result.dryText.buffer as ArrayBuffer);
  port.postMessage({ seq: req.seq, result }, transfer);
});
