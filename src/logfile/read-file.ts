/**
 * The read stage for one file: inflate (on this thread with ISA-L or zlib, or on libuv's pool), cut whole-line
 * chunks, and hand each on, waiting as long as `submit` waits (that is the backpressure). A file
 * that breaks part-way hands on the whole lines before the break, then says why it stopped.
 */
import { lstat, readlink } from 'node:fs/promises';
import { ERROR_CODES, FileReadError, GzipError, MemcLoadError } from '../errors.js';
import { gunzipPieces, type Inflater } from './gunzip-choice.js';
import { LineChunker, type ChunkItem } from './line-chunker.js';
import type { GunzipPieces } from './pool-gunzip.js';

export interface ReadOptions {
  readonly batchBytes: number;
  readonly maxLineBytes: number;
  /** The inflater (gunzip-choice.ts): ISA-L or zlib on this thread, or zlib on libuv's pool. */
  readonly inflater: Inflater;
  /** Where chunks are cut from. */
  readonly takeBuffer: (n: number) => Uint8Array;
  /** `submit` takes lent chunks (line-chunker.ts: views valid until it returns), which spares most copies. */
  readonly lend?: boolean;
  /** The file is open: its size in bytes. */
  readonly onOpen?: (size: number) => void;
  /** Compressed bytes read so far. */
  readonly onBytesRead?: (bytes: number) => void;
}

/** Reads `path` to its end through `submit`. Resolves to null, or to why reading stopped early. */
export async function readFile(path: string, o: ReadOptions, submit: (item: ChunkItem) => Promise<void>): Promise<MemcLoadError | null> {
  const chunker = new LineChunker(o.batchBytes, o.maxLineBytes, o.takeBuffer, o.lend === true);
  const pieces: GunzipPieces = gunzipPieces(o.inflater, path, o.onOpen);
  try {
    for await (const piece of pieces) {
      o.onBytesRead?.(pieces.bytesRead);
      for (const item of chunker.push(piece, pieces.reusesPieces)) await submit(item);
    }
    for (const item of chunker.end()) await submit(item);
    return null;
  } catch (err) {
    const error = await readError(err, path, pieces.bytesInflated);
    if (error.code === ERROR_CODES.GZIP || error.code === ERROR_CODES.FILE_READ) {
      try {
        for (const item of chunker.flushComplete()) await submit(item);
      } catch {
        // interrupted or a fatal error meanwhile: the file fails to load either way
      }
    }
    return error;
  }
}

async function readError(err: unknown, path: string, compressedOffset: number): Promise<MemcLoadError> {
  if (err instanceof MemcLoadError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || e.code === 'ELOOP') {
    const target = await danglingTarget(path);
    if (target !== null) {
      return new FileReadError(
        `${path}: dangling link to ${target} (${e.code}): its target is not there yet (storage not mounted?); the file stays pending and holds back every later file until it can be read`,
        { file: path, cause: err },
      );
    }
  }
  // The very first bytes refused: not gzip at all (plain text, another compressor), not a broken one.
  if (compressedOffset === 0 && e.code === 'Z_DATA_ERROR' && /header/.test(e.message)) {
    return new GzipError(`${path}: not a gzip file (its first bytes are not a gzip header)`, { file: path, cause: err });
  }
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
    return new GzipError(`${path}: gzip data broken at compressed byte ${compressedOffset} (${e.message})`, {
      file: path,
      cause: err,
    });
  }
  return new FileReadError(`${path}: could not read the file (${e.message})`, { file: path, cause: err });
}

/** Where `path` links to, when it is a symbolic link (one that cannot be followed, here). */
async function danglingTarget(path: string): Promise<string | null> {
  try {
    return (await lstat(path)).isSymbolicLink() ? await readlink(path) : null;
  } catch {
    return null;
  }
}
