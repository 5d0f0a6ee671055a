/**
 * A segment read back for its apply: 1 MiB reads into reused buffers, cut into batches by the
 * SegmentReader (most batches are views of the read they lie in), each buffer reused once every
 * batch viewing it is released (its outcome came back: the connection no longer needs it).
 *
 * Why not a file stream: its reads are each a fresh 1 MiB, garbage once their batches are
 * acknowledged; with the inflater's pieces that made garbage collection ~2 s of a worker's main
 * thread over the bench's 3 files (issue #19 item 4). A batch never released (the apply stopped
 * before sending it, or its outcome never came) only keeps its buffer from being reused.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { SegmentReader, type SegmentBatch, type SegmentTotals } from './segment-format.js';

const READ_BYTES = 1024 * 1024;
/** Free read buffers kept for the next reads, across this process's applies: about four lanes' in-flight bytes. */
const FREE_MAX = 32;
const free: Buffer[] = [];

export class SegmentSource {
  readonly #path: string;
  readonly #reader: SegmentReader;
  /** Reads with batches still viewing them: how many. */
  readonly #viewed = new Map<ArrayBufferLike, { readonly buf: Buffer; views: number }>();
  #file: FileHandle | null = null;

  constructor(path: string) {
    this.#path = path;
    this.#reader = new SegmentReader(path);
  }

  /** The segment's batches, in order; throws for a segment that cannot be read or is damaged. */
  async *batches(): AsyncGenerator<SegmentBatch> {
    this.#file = await open(this.#path, 'r');
    for (;;) {
      const buf = free.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES);
      const { bytesRead } = await this.#file.read(buf, 0, READ_BYTES, null);
      if (bytesRead === 0) {
        give(buf);
        return;
      }
      const batches = this.#reader.push(buf.subarray(0, bytesRead));
      let views = 0;
      for (const b of batches) if (b.buf.buffer === buf.buffer) views++;
      if (views === 0) give(buf);
      else this.#viewed.set(buf.buffer, { buf, views });
      yield* batches;
    }
  }

  /** The connection is done with `batch` (it has an outcome): its read may be reused once no other batch views it. */
  release(batch: Uint8Array): void {
    const read = this.#viewed.get(batch.buffer);
    if (read === undefined || --read.views > 0) return;
    this.#viewed.delete(batch.buffer);
    give(read.buf);
  }

  /** The segment's totals; throws if it stopped part-way. */
  end(): SegmentTotals {
    return this.#reader.end();
  }

  async close(): Promise<void> {
    await this.#file?.close().catch(() => {});
    this.#file = null;
  }
}

function give(buf: Buffer): void {
  if (free.length < FREE_MAX) free.push(buf);
}
