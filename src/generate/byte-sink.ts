/**
 * Appends ASCII bytes into large Buffers and hands them off in slices.
 *
 *   [ handed off … | pending (start..pos) | free ]   → take() returns pending slices
 *
 * Building lines byte by byte into one big Buffer is ~10× faster than string concatenation
 * plus Buffer.from per line, and handing off slices of the same Buffer avoids a copy. A slice
 * once taken is never written again (writing only moves forward), so zlib may hold on to it.
 */
import { writeDecimal } from '../record/decimal.js';

const DEFAULT_CHUNK_BYTES = 1 << 20;

export class ByteSink {
  readonly #chunkBytes: number;
  #buf: Buffer;
  #start = 0;
  #pos = 0;
  #full: Buffer[] = [];
  #flushed = 0;

  constructor(chunkBytes: number = DEFAULT_CHUNK_BYTES) {
    this.#chunkBytes = chunkBytes;
    this.#buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** Bytes written since construction: the absolute offset of the next byte. */
  get offset(): number {
    return this.#flushed + (this.#pos - this.#start);
  }

  /** Make room for `n` more bytes in the current Buffer (a line is never split across two). */
  ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    if (this.#pos > this.#start) this.#full.push(this.#buf.subarray(this.#start, this.#pos));
    this.#flushed += this.#pos - this.#start;
    this.#buf = Buffer.allocUnsafe(Math.max(this.#chunkBytes, n));
    this.#start = 0;
    this.#pos = 0;
  }

  /**
   * The current Buffer and write position, for loops that write many bytes at once: a local
   * position beats a private-field update per byte (apps lists are ~250 bytes a line).
   * Set `pos` back when done; `ensure` the room first.
   */
  get buffer(): Buffer {
    return this.#buf;
  }

  get pos(): number {
    return this.#pos;
  }

  set pos(p: number) {
    this.#pos = p;
  }

  /** Callers `ensure` first; these do no bounds checks because they run ~300 times a line. */
  byte(b: number): void {
    this.#buf[this.#pos++] = b;
  }

  ascii(s: string): void {
    const buf = this.#buf;
    let p = this.#pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.#pos = p;
  }

  bytes(src: Uint8Array): void {
    this.#buf.set(src, this.#pos);
    this.#pos += src.length;
  }

  /** Decimal digits of a non-negative integer below 2^53. */
  uint(n: number): void {
    this.#pos = writeDecimal(this.#buf, this.#pos, n);
  }

  /** Everything written since the last take(), in order. */
  take(): Buffer[] {
    const out = this.#full;
    this.#full = [];
    if (this.#pos > this.#start) {
      out.push(this.#buf.subarray(this.#start, this.#pos));
      this.#flushed += this.#pos - this.#start;
      this.#start = this.#pos;
    }
    return out;
  }
}
