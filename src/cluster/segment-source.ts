/**
 * A segment read back for its apply: 1 MiB reads into reused buffers, cut into batches by the
 * SegmentReader (every batch a view of the read it lies in: a batch cut by a read's end starts
 * the next read), each buffer reused once every batch viewing it is released (its outcome came
 * back: the connection no longer needs it).
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
      const read = await this.#read(this.#file);
      if (read === null) return;
      yield* read;
    }
  }

  // A batch cut by the end of a read: its start (still in that read's buffer, held for it) is
  // copied to the head of the next read's buffer, so that every batch is a view. A copy of its
  // own per cut batch (~1/8 of the bytes) was fresh memory each time, external to V8's heap:
  // page faults, and major GCs it asked for (issue #19 item 4).
  #carry: Uint8Array | null = null;
  /** The least size of the next read: the carried batch's, once its header is in. */
  #need = 0;

  /**
   * The next read's whole batches (maybe none), or null at the segment's end. Apart from the
   * generator so that its end, first met after V8 optimized the reads, throws away and compiles
   * again only this (issue #19 item 4).
   */
  async #read(file: FileHandle): Promise<SegmentBatch[] | null> {
    // A batch larger than a read gets a read of its own size, and only its bytes.
    const size = Math.max(READ_BYTES, this.#need);
    const buf = size === READ_BYTES ? (free.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES)) : Buffer.allocUnsafeSlow(size);
    let have = 0;
    const carry = this.#carry;
    if (carry !== null) {
      buf.set(carry, 0);
      have = carry.byteLength;
      this.release(carry);
      this.#carry = null;
    }
    this.#need = 0;
    const { bytesRead } = await file.read(buf, have, size - have, null);
    if (bytesRead === 0) {
      // A segment that ends inside a batch: the reader holds its start, and end() says truncated.
      if (have > 0) this.#reader.push(buf.subarray(0, have));
      give(buf);
      return null;
    }
    const chunk = buf.subarray(0, have + bytesRead);
    const whole = this.#reader.pushWhole(chunk);
    if (whole.used < chunk.byteLength) {
      this.#carry = chunk.subarray(whole.used);
      this.#need = whole.need;
    }
    const views = whole.batches.length + (this.#carry === null ? 0 : 1);
    if (views === 0) give(buf);
    else this.#viewed.set(buf.buffer, { buf, views });
    return whole.batches;
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
  // A read sized for one large batch is not kept: the next reads are READ_BYTES.
  if (free.length < FREE_MAX && buf.byteLength === READ_BYTES) free.push(buf);
}
