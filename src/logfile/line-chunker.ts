/**
 * Cuts a decompressed byte stream into chunks of whole lines for the encoders.
 *
 *   gunzip output ─► [ complete lines … | tail ] ─► chunk (≥ target bytes, ends at '\n')
 *
 * Only the last newline of each incoming piece is looked for; the encoders split lines. A line
 * that grows past maxLineBytes without a newline is dropped as it streams in (SPEC.md: rejected
 * "without holding it whole in memory"), so memory stays under target + maxLineBytes + one piece.
 */
export type ChunkItem = { readonly kind: 'data'; readonly buf: Uint8Array } | { readonly kind: 'too_long' };

const NL = 10;

export class LineChunker {
  readonly #target: number;
  readonly #maxLineBytes: number;
  #parts: Uint8Array[] = [];
  #len = 0;
  /** Bytes of #parts that end at a newline. */
  #completeLen = 0;
  /** Inside an over-long line: drop bytes until its newline. */
  #discarding = false;

  constructor(targetBytes: number, maxLineBytes: number) {
    this.#target = targetBytes;
    this.#maxLineBytes = maxLineBytes;
  }

  push(piece: Uint8Array): ChunkItem[] {
    const out: ChunkItem[] = [];
    if (this.#discarding) {
      const nl = piece.indexOf(NL);
      if (nl < 0) return out;
      this.#discarding = false;
      piece = piece.subarray(nl + 1);
    }
    if (piece.length === 0) return out;
    const lastNl = piece.lastIndexOf(NL);
    this.#parts.push(piece);
    this.#len += piece.length;
    if (lastNl >= 0) this.#completeLen = this.#len - (piece.length - lastNl - 1);

    if (this.#len - this.#completeLen > this.#maxLineBytes) {
      if (this.#completeLen > 0) out.push(this.#take(this.#completeLen));
      this.#parts = [];
      this.#len = this.#completeLen = 0;
      this.#discarding = true;
      out.push({ kind: 'too_long' });
    } else if (this.#completeLen >= this.#target) {
      out.push(this.#take(this.#completeLen));
    }
    return out;
  }

  /** The rest: a last line without its newline is still a line. */
  end(): ChunkItem[] {
    if (this.#discarding || this.#len === 0) return [];
    return [this.#take(this.#len)];
  }

  /** Copies the first n buffered bytes into a buffer of their own (transferable to a worker). */
  #take(n: number): ChunkItem {
    const buf = Buffer.allocUnsafeSlow(n);
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
