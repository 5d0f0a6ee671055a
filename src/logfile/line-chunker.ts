/**
 * Cuts a decompressed byte stream into chunks of whole lines for the encoders.
 *
 *   gunzip output ─► [ complete lines … | tail ] ─► chunks (≥ target bytes, each ends at '\n')
 *
 * Only the last newline of each incoming piece, and the first past each target, are looked
 * for; the encoders split lines. A line that grows past maxLineBytes without a newline is
 * dropped as it streams in (SPEC.md: rejected "without holding it whole in memory"), so memory
 * stays under target + maxLineBytes + one piece.
 *
 * A piece the inflater will overwrite (`push(piece, true)`) is not kept: the bytes past the last
 * chunk cut from it are copied into one of two buffers of the chunker's own. That copies a part
 * of each piece twice, and spares the inflater a fresh output buffer per step.
 *
 * With `lend` (the pipeline's read stage: it encodes a chunk before it pushes the next piece, or
 * copies it for a thread, encode-stage.ts), a chunk that lies within one piece or carry buffer is
 * handed out as a view, not copied: on the bench's 1 MiB pieces and 512 KiB chunks that is about
 * half of them, and the copy of every chunk was ~0.1 s of memmove per 3 M lines.
 */
export type ChunkItem =
  /**
   * `lent`: `buf` is a view of the chunker's or the inflater's memory, valid only until the next
   * `push` (the consumer uses it before asking for more); otherwise a buffer of its own.
   */
  | { readonly kind: 'data'; readonly buf: Uint8Array; readonly lent?: boolean }
  /**
   * An over-long line, dropped; `blank` when it was only whitespace (SPEC.md checks blank first),
   * `bytes` its length before the newline, for the log.
   */
  | { readonly kind: 'too_long'; readonly blank: boolean; readonly bytes: number };

const NL = 10;
// Buffers, as the inflaters' pieces are: a lent chunk is a view of one or the other, and the
// encoder's first step differs for a Buffer and a plain Uint8Array. Chunks of both kinds made
// V8 deoptimize encodeChunk mid-run and compile it again, ~80 ms of CPU (issue #19).
const EMPTY = Buffer.alloc(0);

export class LineChunker {
  readonly #target: number;
  readonly #maxLineBytes: number;
  #parts: Uint8Array[] = [];
  #len = 0;
  /** Bytes of #parts that end at a newline. */
  #completeLen = 0;
  /** Inside an over-long line: drop bytes until its newline. */
  #discarding = false;
  /** The line being dropped has been whitespace only so far. */
  #discardBlank = true;
  /** Bytes of the line being dropped so far. */
  #discardBytes = 0;

  readonly #alloc: (n: number) => Uint8Array;
  /**
   * Where the bytes kept from a borrowed piece go, in turn: the one not in use, since #parts may
   * still hold a view of the other when the next borrowed piece comes.
   */
  readonly #carry: Uint8Array[] = [EMPTY, EMPTY];
  #carryNext = 0;

  /** Chunks that lie within one buffered part are handed out as views (`lent`), not copied. */
  readonly #lend: boolean;

  /**
   * `alloc(n)` gives the buffer a chunk is copied into: `n` bytes at offset 0 of an ArrayBuffer of
   * its own. `lend`: the consumer takes `lent` items (a view, used before the next push), which
   * spares the copy of every chunk that does not straddle two parts.
   */
  constructor(targetBytes: number, maxLineBytes: number, alloc: (n: number) => Uint8Array = (n) => Buffer.allocUnsafeSlow(n), lend = false) {
    this.#target = targetBytes;
    this.#maxLineBytes = maxLineBytes;
    this.#alloc = alloc;
    this.#lend = lend;
  }

  /** `borrowed`: `piece` is overwritten once this returns, so no view of it may be kept. */
  push(piece: Uint8Array, borrowed = false): ChunkItem[] {
    const out = this.#push(piece);
    if (borrowed) this.#keepOwn();
    return out;
  }

  #push(piece: Uint8Array): ChunkItem[] {
    const out: ChunkItem[] = [];
    if (this.#discarding) {
      const nl = piece.indexOf(NL);
      this.#discardBlank &&= isWhitespace(piece, 0, nl < 0 ? piece.length : nl);
      this.#discardBytes += nl < 0 ? piece.length : nl;
      if (nl < 0) return out;
      this.#discarding = false;
      out.push({ kind: 'too_long', blank: this.#discardBlank, bytes: this.#discardBytes });
      piece = piece.subarray(nl + 1);
    }
    if (piece.length === 0) return out;
    const lastNl = piece.lastIndexOf(NL);
    this.#parts.push(piece);
    this.#len += piece.length;
    if (lastNl >= 0) this.#completeLen = this.#len - (piece.length - lastNl - 1);

    if (this.#len - this.#completeLen > this.#maxLineBytes) {
      if (this.#completeLen > 0) out.push(this.#take(this.#completeLen));
      this.#discardBlank = this.#parts.every((p) => isWhitespace(p, 0, p.length));
      this.#discardBytes = this.#len - this.#completeLen;
      this.#parts = [];
      this.#len = this.#completeLen = 0;
      this.#discarding = true;
    } else {
      // A piece can hold many targets' worth (gunzip hands out 1 MiB): cut it into chunks
      // of about the target, each ending at the first newline past it, so that batches keep
      // the size --batch-bytes asks for and the workers share a piece.
      while (this.#completeLen >= this.#target) out.push(this.#take(this.#newlineFrom(this.#target - 1) + 1));
    }
    return out;
  }

  /** Copies the buffered bytes into a carry buffer, so that #parts holds no view of a borrowed piece. */
  #keepOwn(): void {
    if (this.#len === 0) return;
    let carry = this.#carry[this.#carryNext] as Uint8Array;
    if (carry.length < this.#len) {
      carry = Buffer.allocUnsafeSlow(Math.max(this.#len, carry.length * 2, 64 * 1024));
      this.#carry[this.#carryNext] = carry;
    }
    let off = 0;
    for (const part of this.#parts) {
      carry.set(part, off);
      off += part.length;
    }
    this.#parts = [carry.subarray(0, off)];
    this.#carryNext ^= 1;
  }

  /** Offset of the first newline at or after `offset` in the buffered bytes (one must exist). */
  #newlineFrom(offset: number): number {
    let base = 0;
    for (const part of this.#parts) {
      if (offset < base + part.length) {
        const nl = part.indexOf(NL, Math.max(0, offset - base));
        if (nl >= 0) return base + nl;
      }
      base += part.length;
    }
    throw new Error('LineChunker: no newline in the complete bytes');
  }

  /**
   * The whole lines buffered so far, when the stream broke (corrupt gzip, read error): they are
   * good data, and loading them makes "after line N" in the error the exact place of the break.
   * The partial line after them is dropped.
   */
  flushComplete(): ChunkItem[] {
    if (this.#discarding || this.#completeLen === 0) return [];
    return [this.#take(this.#completeLen)];
  }

  /** The rest: a last line without its newline is still a line. */
  end(): ChunkItem[] {
    if (this.#discarding) {
      this.#discarding = false;
      return [{ kind: 'too_long', blank: this.#discardBlank, bytes: this.#discardBytes }];
    }
    if (this.#len === 0) return [];
    return [this.#take(this.#len)];
  }

  /**
   * The first n buffered bytes: a view when they lie in the first part and lending is on (a borrowed
   * piece is only overwritten after the next push; a carry buffer only at the push after that,
   * see #keepOwn), else copied into a buffer of their own (transferable to a worker).
   */
  #take(n: number): ChunkItem {
    const first = this.#parts[0] as Uint8Array;
    if (this.#lend && first.length >= n) {
      if (first.length === n) this.#parts.shift();
      else this.#parts[0] = first.subarray(n);
      this.#len -= n;
      this.#completeLen -= n;
      return { kind: 'data', buf: first.subarray(0, n), lent: true };
    }
    const buf = this.#alloc(n);
    let off = 0;
    let i = 0;
    for (; i < this.#parts.length && off < n; i++) {
      const part = this.#parts[i] as Uint8Array;
      const used = Math.min(part.length, n - off);
      buf.set(used === part.length ? part : part.subarray(0, used), off);
      off += used;
      if (used < part.length) {
        this.#parts[i] = part.subarray(used);
        break;
      }
    }
    this.#parts = this.#parts.slice(i);
    this.#len -= n;
    this.#completeLen -= n;
    return { kind: 'data', buf };
  }
}

/** Space, \t, \n, \v, \f, \r: what makes a line blank (SPEC.md). */
function isWhitespace(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b !== 0x20 && (b < 0x09 || b > 0x0d)) return false;
  }
  return true;
}
