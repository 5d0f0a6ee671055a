/**
 * Writes one lane's segment of a split: to `<name>.tmp` first, renamed to `<name>` once every
 * byte is written and flushed, so a segment under its final name is always whole. Opened at the
 * lane's first batch: a lane with no record has no segment.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { batchHeader, SEGMENT_MAGIC } from './segment-format.js';

export class SegmentWriter {
  readonly #folder: string;
  readonly name: string;
  readonly #onRoom: () => void;
  #stream: WriteStream | null = null;
  #error: Error | null = null;
  records = 0;
  batches = 0;
  bytes = 0;

  /** `onRoom`: the stream drained or failed, so a producer waiting on `full` may go on. */
  constructor(folder: string, name: string, onRoom: () => void = () => {}) {
    this.#folder = folder;
    this.name = name;
    this.#onRoom = onRoom;
  }

  get #tmp(): string {
    return join(this.#folder, `${this.name}.tmp`);
  }

  /** Its stream holds more than its high-water mark: the producer waits for `onRoom`. */
  get full(): boolean {
    return this.#error === null && this.#stream?.writableNeedDrain === true;
  }

  /** Why the stream failed, or null: the split fails with it. */
  get error(): Error | null {
    return this.#error;
  }

  /** Appends one batch; `written` runs once the stream is done with `frames` (it may be reused then). */
  write(frames: Uint8Array, records: number, written: () => void): void {
    this.#throwIfFailed();
    if (this.#stream === null) {
      // `flush`: fsync before close, so a rename never publishes bytes still only in the page cache.
      this.#stream = createWriteStream(this.#tmp, { flags: 'w', flush: true } as Parameters<typeof createWriteStream>[1]);
      this.#stream.on('error', (err) => {
        this.#error ??= err;
        this.#onRoom();
      });
      this.#stream.on('drain', this.#onRoom);
      this.#stream.write(SEGMENT_MAGIC);
      this.bytes += SEGMENT_MAGIC.length;
    }
    this.#stream.write(batchHeader(frames, records));
    this.#stream.write(frames, () => written());
    this.bytes += 8 + frames.byteLength;
    this.records += records;
    this.batches++;
  }

  /** Ends the stream and renames the segment into place. Returns its name, or null if it has no record. */
  async finish(): Promise<string | null> {
    const stream = this.#stream;
    if (stream === null) return null;
    const closed = once(stream, 'close');
    stream.end();
    await closed;
    this.#throwIfFailed();
    await rename(this.#tmp, join(this.#folder, this.name));
    return this.name;
  }

  /** Drops the temp file after a failed or interrupted split. */
  async abort(): Promise<void> {
    const stream = this.#stream;
    if (stream === null) return;
    if (!stream.closed) {
      const closed = once(stream, 'close').catch(() => {});
      stream.destroy();
      await closed;
    }
    await unlink(this.#tmp).catch(() => {});
  }

  #throwIfFailed(): void {
    if (this.#error !== null) throw this.#error;
  }
}
