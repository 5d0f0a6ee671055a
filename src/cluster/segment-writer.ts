/**
 * Writes one lane's segment of a split: to `<name>.tmp` first, renamed to `<name>` once every
 * byte is written and flushed, so a segment under its final name is always whole. Opened at the
 * lane's first batch: a lane with no record has no segment.
 *
 * Batches are gathered and written ~1 MiB at a time by one writev on the split's own thread
 * (issue #19 item 4), not handed to libuv's pool a batch at a time: a write into the page cache
 * costs the kernel's copy either way, and the pool added a request per batch header and per batch
 * (~14,000 per 3 M lines), each waking a pool thread and then the event loop: `perf` put ~0.3 s
 * of the two workers' CPU in those wake-ups on the bench's 3 files. The batches' buffers go back
 * to their owner once written, so no batch waits for room. Only the flush (fsync) and close at
 * the end go through the pool, where a slow disk cannot stall the event loop for long.
 */
import { close, closeSync, fsync, openSync, writevSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { batchHeader, SEGMENT_MAGIC } from './segment-format.js';

/** Gathered bytes written at once: large enough that a write costs little beside its copy. */
const GATHER_BYTES = 1024 * 1024;
/** Linux's IOV_MAX: a writev takes at most this many buffers. */
const IOV_MAX = 1024;
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

export class SegmentWriter {
  readonly #folder: string;
  readonly name: string;
  #fd: number | null = null;
  #closed = false;
  #error: Error | null = null;
  /** Gathered, not yet written: the buffers and what to call once each batch is written. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #written: (() => void)[] = [];
  records = 0;
  batches = 0;
  bytes = 0;

  constructor(folder: string, name: string) {
    this.#folder = folder;
    this.name = name;
  }

  get #tmp(): string {
    return join(this.#folder, `${this.name}.tmp`);
  }

  /** Why a write failed, or null: the split fails with it. */
  get error(): Error | null {
    return this.#error;
  }

  /** Appends one batch; `written` runs once `frames` is written (it may be reused then). Throws if a write failed. */
  write(frames: Uint8Array, records: number, written: () => void): void {
    this.#throwIfFailed();
    const header = batchHeader(frames, records);
    if (this.#fd === null) {
      this.#fd = this.#attempt(() => openSync(this.#tmp, 'w'));
      this.#gather(SEGMENT_MAGIC);
      this.bytes += SEGMENT_MAGIC.length;
    }
    this.#gather(header);
    this.#gather(frames);
    this.#written.push(written);
    this.bytes += header.byteLength + frames.byteLength;
    this.records += records;
    this.batches++;
    if (this.#pendingBytes >= GATHER_BYTES) this.#flush();
  }

  /** Writes what is gathered, flushes it to the disk, closes and renames the segment into place. Returns its name, or null if it has no record. */
  async finish(): Promise<string | null> {
    const fd = this.#fd;
    if (fd === null) return null;
    this.#throwIfFailed();
    this.#flush();
    this.#throwIfFailed();
    this.#closed = true;
    try {
      // fsync before the rename: a rename never publishes bytes still only in the page cache.
      await fsyncAsync(fd);
    } finally {
      await closeAsync(fd);
    }
    await rename(this.#tmp, join(this.#folder, this.name));
    return this.name;
  }

  /** Drops the temp file after a failed or interrupted split. */
  async abort(): Promise<void> {
    const fd = this.#fd;
    if (fd === null) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#written = [];
    if (!this.#closed) {
      this.#closed = true;
      try {
        closeSync(fd);
      } catch {
        // Closed is what we want; the unlink below still runs.
      }
    }
    await unlink(this.#tmp).catch(() => {});
  }

  #gather(buf: Uint8Array): void {
    this.#pending.push(buf);
    this.#pendingBytes += buf.byteLength;
  }

  #flush(): void {
    const fd = this.#fd;
    if (fd === null || this.#pending.length === 0) return;
    const bufs = this.#pending;
    const done = this.#written;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#written = [];
    this.#attempt(() => writeAll(fd, bufs));
    for (const w of done) w();
  }

  /** Runs `io`; a failure is kept (the split fails with it) and thrown. */
  #attempt<T>(io: () => T): T {
    try {
      return io();
    } catch (err) {
      this.#error ??= err as Error;
      throw err;
    }
  }

  #throwIfFailed(): void {
    if (this.#error !== null) throw this.#error;
  }
}

/** Every byte of `bufs`, in order: writev may write part of what it is given. */
function writeAll(fd: number, bufs: Uint8Array[]): void {
  let i = 0;
  let skip = 0; // bytes of bufs[i] already written
  while (i < bufs.length) {
    const batch: Uint8Array[] = [];
    for (let j = i; j < bufs.length && batch.length < IOV_MAX; j++) {
      const b = bufs[j] as Uint8Array;
      batch.push(j === i && skip > 0 ? b.subarray(skip) : b);
    }
    let n = writevSync(fd, batch);
    if (n <= 0) throw new Error(`writev wrote nothing of ${bufs.length - i} buffer(s)`);
    while (n > 0 && i < bufs.length) {
      const left = (bufs[i] as Uint8Array).byteLength - skip;
      if (n >= left) {
        n -= left;
        i++;
        skip = 0;
      } else {
        skip += n;
        n = 0;
      }
    }
  }
}
