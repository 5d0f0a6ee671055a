/**
 * A gzip file compressed in parallel blocks, the way pigz does it, so one file uses every
 * core: gzip, not line building, is the slow part (~35 MB/s a core at level 6).
 *
 *   input ─► 1 MiB blocks ─► deflateRaw on libuv's pool (each primed with the previous
 *            32 KiB as its dictionary, ended by Z_SYNC_FLUSH, the last by Z_FINISH)
 *         ─► outputs written in order between a gzip header and a CRC32/ISIZE trailer
 *
 * Concatenated sync-flushed raw deflate segments are one valid deflate stream, so each member
 * is an ordinary single gzip member. Thanks to the dictionary, matches still reach 32 KiB back
 * across a block start; the restarts cost 0.005% in size (measured on 300 k lines). Output
 * depends on BLOCK_BYTES and the input only, not on timing or core count. `nextMember()` ends a member early: files with several members,
 * as `cat a.gz b.gz` produces, are valid input too (SPEC.md "Input").
 *
 * The file is written as `<name>.part` and renamed when complete, so a loader whose glob runs
 * meanwhile never picks up a half-written log.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import * as zlib from 'node:zlib';

/** Part of the output format: changing it changes the bytes generated for a seed. */
const BLOCK_BYTES = 1 << 20;
const WINDOW_BYTES = 32 * 1024;
/** deflateBound for a block: stored blocks add 5 bytes per 16 KiB, plus the flush marker. */
const OUT_CHUNK_BYTES = BLOCK_BYTES + (BLOCK_BYTES >> 10) + 1024;
/** Blocks compressing or waiting to be written; bounds memory to ~2 × this many MiB. */
const MAX_IN_FLIGHT = 8;
// mtime 0 and no name, so the bytes do not depend on when or where they were made.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

export class GzipFile {
  readonly path: string;
  readonly #partPath: string;
  readonly #level: number;
  #fh: FileHandle | undefined;
  /** Outputs in file order; each settles when its block is compressed. */
  readonly #queue: Promise<Buffer>[] = [];
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Last window of the current member's input: the next block's dictionary. */
  #window: Buffer | undefined;
  #crc = 0;
  #size = 0;
  #written = 0;
  #memberOpen = false;

  constructor(path: string, level: number) {
    this.path = path;
    this.#partPath = `${path}.part`;
    this.#level = level;
  }

  async write(buf: Uint8Array): Promise<void> {
    if (buf.length === 0) return;
    this.#pending.push(Buffer.from(buf.buffer, buf.byteOffset, buf.length));
    this.#pendingBytes += buf.length;
    while (this.#pendingBytes >= BLOCK_BYTES) {
      await this.#submit(this.#takeBlock(BLOCK_BYTES), false);
    }
  }

  /** Ends the current gzip member; what is written next starts a new one. */
  async nextMember(): Promise<void> {
    await this.#endMember();
  }

  /** Finishes the file; returns its compressed size. */
  async close(): Promise<number> {
    await this.#endMember();
    while (this.#queue.length > 0) await this.#writeOldest();
    const fh = await this.#file();
    this.#fh = undefined;
    await fh.close();
    await rename(this.#partPath, this.path);
    return this.#written;
  }

  /** Drops the partial file after a failure. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.#queue.splice(0));
    await this.#fh?.close().catch(() => undefined);
    this.#fh = undefined;
    await unlink(this.#partPath).catch(() => undefined);
  }

  async #endMember(): Promise<void> {
    await this.#submit(this.#takeBlock(this.#pendingBytes), true);
    const trailer = Buffer.allocUnsafe(8);
    trailer.writeUInt32LE(this.#crc >>> 0, 0);
    trailer.writeUInt32LE(this.#size % 2 ** 32, 4);
    this.#queue.push(Promise.resolve(trailer));
    this.#memberOpen = false;
  }

  async #submit(block: Buffer, last: boolean): Promise<void> {
    if (!this.#memberOpen) {
      this.#memberOpen = true;
      this.#queue.push(Promise.resolve(GZIP_HEADER));
      this.#crc = 0;
      this.#size = 0;
      this.#window = undefined;
    }
    this.#crc = crc32(block, this.#crc);
    this.#size += block.length;
    const options: zlib.ZlibOptions = {
      level: this.#level,
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      // Room for the whole output at once: with the default 16 KiB, each block would return
      // to the main thread ~30 times, and those callbacks cost more than building the lines.
      chunkSize: OUT_CHUNK_BYTES,
    };
    if (this.#window) options.dictionary = this.#window;
    const out = new Promise<Buffer>((resolve, reject) => {
      zlib.deflateRaw(block, options, (err, result) => (err ? reject(err) : resolve(result)));
    });
    // A failure is reported when its turn to be written comes; until then keep it quiet.
    out.catch(() => undefined);
    this.#queue.push(out);
    // The tail may span blocks only when a block is shorter than the window, i.e. never
    // mid-member: every block but a member's last is BLOCK_BYTES long.
    this.#window = block.length >= WINDOW_BYTES ? block.subarray(block.length - WINDOW_BYTES) : block;
    while (this.#queue.length > MAX_IN_FLIGHT) await this.#writeOldest();
  }

  #takeBlock(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.#pending[0];
      if (head.length <= need) {
        parts.push(head);
        this.#pending.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.#pending[0] = head.subarray(need);
        need = 0;
      }
    }
    this.#pendingBytes -= n;
    // A copy, so the block outlives the caller's buffers and is one contiguous zlib input.
    return Buffer.concat(parts, n);
  }

  async #writeOldest(): Promise<void> {
    const out = await (this.#queue.shift() as Promise<Buffer>);
    const fh = await this.#file();
    await fh.write(out);
    this.#written += out.length;
  }

  async #file(): Promise<FileHandle> {
    this.#fh ??= await open(this.#partPath, 'w');
    return this.#fh;
  }
}

/** zlib.crc32 exists from Node 20.15; older 20.x get the same CRC from crc32Portable. */
const nativeCrc32: ((data: Uint8Array, value?: number) => number) | undefined = (
  zlib as { crc32?: (data: Uint8Array, value?: number) => number }
).crc32;

export function crc32(data: Uint8Array, value = 0): number {
  return nativeCrc32 ? nativeCrc32(data, value) : crc32Portable(data, value);
}

let crcTable: Int32Array | undefined;

/** CRC-32 (IEEE, as gzip uses), continuing from `value`; table-driven, ~0.5 GB/s. */
export function crc32Portable(data: Uint8Array, value = 0): number {
  crcTable ??= makeCrcTable();
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function makeCrcTable(): Int32Array {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}
