/**
 * gunzip on libuv's thread pool (`--gunzip pool`): the file streamed through Node's zlib, handed
 * out as pieces, with the same shape as InlineGunzip so the loader does not care which it reads.
 *
 * gunzip is the one stage that cannot be split across cores, and Node's zlib stream only starts
 * its next inflate step from the main thread's event loop. With 256 KiB steps and the default
 * 16 KiB read buffer it ran one step ahead of the consumer and then stood idle while the main
 * thread encoded or sent: the main thread spent about half of a run waiting for gunzip. 1 MiB
 * steps and room for four of them keep the inflater busy across those gaps; 4 MiB steps were
 * no faster within the noise and cost ~20 MB more peak RSS (docs/benchmarks.md, optimisation
 * log). `readableHighWaterMark` is a stream option the zlib types do not list.
 */
import { createReadStream, fstat, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip, type Gunzip, type ZlibOptions } from 'node:zlib';
import { skipZeroPadding } from './gzip-padding.js';

const GUNZIP_OPTIONS = {
  chunkSize: 1024 * 1024,
  readableHighWaterMark: 4 * 1024 * 1024,
  writableHighWaterMark: 1024 * 1024,
} as ZlibOptions;

/** The decompressed pieces of one gzip file; a gzip or read error is thrown from the iteration. */
export interface GunzipPieces extends AsyncIterable<Buffer> {
  /** Compressed bytes read from the file so far. */
  readonly bytesRead: number;
  /** Compressed bytes inflated so far: where a gzip error was met. */
  readonly bytesInflated: number;
  /**
   * Each piece is valid only until the iteration goes on: the inflater writes the next one into
   * the same memory. A consumer that keeps bytes for longer copies them (LineChunker does).
   */
  readonly reusesPieces: boolean;
}

export class PoolGunzip implements GunzipPieces {
  readonly #path: string;
  readonly #onOpen: ((size: number) => void) | undefined;
  bytesRead = 0;
  bytesInflated = 0;
  /** The stream hands out fresh buffers. */
  readonly reusesPieces = false;

  constructor(path: string, onOpen?: (size: number) => void) {
    this.#path = path;
    this.#onOpen = onOpen;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    let start = 0;
    for (;;) {
      const stopped = yield* this.#inflateFrom(start);
      if (stopped === null) return;
      // Zero padding: a new stream starts at the next member, if there is one.
      const file = await open(this.#path, 'r');
      let after;
      try {
        after = await skipZeroPadding(file, this.#path, stopped);
      } finally {
        await file.close();
      }
      this.bytesInflated = after.at;
      if (!after.member) {
        this.bytesRead = after.at;
        return;
      }
      start = after.at;
    }
  }

  /**
   * Inflates the file from `start` until its end, or until zlib stops at the end of a member
   * because a zero byte follows: then it returns the offset of that byte.
   */
  async *#inflateFrom(start: number): AsyncGenerator<Buffer, number | null> {
    const source = createReadStream(this.#path, { highWaterMark: 1024 * 1024, start });
    const gunzip = createGunzip(GUNZIP_OPTIONS);
    if (start === 0) source.once('open', (fd: number) => fstat(fd, (err, st) => this.#onOpen?.(err ? 0 : st.size)));
    // A read error ends the iteration below with that error.
    source.on('error', (err) => gunzip.destroy(err));
    const feeding = feed(source, gunzip).catch((err: Error) => {
      gunzip.destroy(err);
      return false;
    });
    try {
      for await (const piece of gunzip) {
        this.bytesRead = Math.max(this.bytesRead, start + source.bytesRead);
        this.bytesInflated = start + gunzip.bytesWritten;
        yield piece as Buffer;
      }
      this.bytesRead = Math.max(this.bytesRead, start + source.bytesRead);
      this.bytesInflated = start + gunzip.bytesWritten;
      return (await feeding) ? this.bytesInflated : null;
    } finally {
      // Also when the consumer stops early (interrupted, a fatal error): no stream is left open.
      this.bytesInflated = start + gunzip.bytesWritten;
      source.destroy();
      gunzip.destroy();
    }
  }
}

/**
 * Writes the file into gunzip one chunk at a time; true if zlib stopped before the input's end.
 *
 * Not `pipe`: where a member ends before a zero byte, Node's gunzip ends its output with input
 * left over, and a chunk queued behind that one would still be inflated, on an ended stream
 * (a member in it is pushed after EOF, an error). Waiting for each chunk to be taken in whole
 * costs nothing measurable: the next chunk is read meanwhile.
 */
async function feed(source: ReadStream, gunzip: Gunzip): Promise<boolean> {
  let fed = 0;
  for await (const chunk of source) {
    fed += (chunk as Buffer).length;
    await new Promise<void>((resolve, reject) => gunzip.write(chunk, (err) => (err ? reject(err) : resolve())));
    if (gunzip.bytesWritten < fed) return true;
  }
  gunzip.end();
  return false;
}
