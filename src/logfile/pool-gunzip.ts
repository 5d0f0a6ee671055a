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
import { createReadStream, fstat } from 'node:fs';
import { createGunzip, type ZlibOptions } from 'node:zlib';

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
}

export class PoolGunzip implements GunzipPieces {
  readonly #path: string;
  readonly #onOpen: ((size: number) => void) | undefined;
  bytesRead = 0;
  bytesInflated = 0;

  constructor(path: string, onOpen?: (size: number) => void) {
    this.#path = path;
    this.#onOpen = onOpen;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const source = createReadStream(this.#path, { highWaterMark: 1024 * 1024 });
    const gunzip = createGunzip(GUNZIP_OPTIONS);
    source.once('open', (fd: number) => fstat(fd, (err, st) => this.#onOpen?.(err ? 0 : st.size)));
    // A read error ends the iteration below with that error.
    source.on('error', (err) => gunzip.destroy(err));
    source.pipe(gunzip);
    try {
      for await (const piece of gunzip) {
        this.bytesRead = source.bytesRead;
        this.bytesInflated = gunzip.bytesWritten;
        yield piece as Buffer;
      }
    } finally {
      // Also when the consumer stops early (interrupted, a fatal error): no stream is left open.
      this.bytesInflated = gunzip.bytesWritten;
      source.destroy();
      gunzip.destroy();
    }
  }
}
