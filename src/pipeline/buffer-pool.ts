/**
 * A free list of ArrayBuffers, so the pipeline's big per-chunk buffers (a chunk of lines, a
 * server's frames) are reused instead of allocated for every chunk.
 *
 * Fresh memory costs more than the bytes suggest: each new 512 KiB buffer is first-touch page
 * faults in the kernel (~130 of them), and buffers dropped for the garbage collector add to
 * V8's external-memory pressure, which brings GCs forward. A run moves ~1.5 GB through such
 * buffers. Buffers cross threads by transfer, so a pooled buffer is owned by exactly one
 * place at a time: taken from a pool, used, given back to a pool (maybe another thread's).
 */
/** Frame buffers start at this size: a server's share of a 512 KiB chunk is ~90 KiB. */
export const FRAME_BUFFER_MIN_BYTES = 128 * 1024;

export class BufferPool {
  readonly #free: ArrayBuffer[] = [];
  readonly #max: number;
  readonly #minSize: number;

  /**
   * @param max buffers kept at most; more are left to the garbage collector.
   * @param minSize the smallest buffer allocated, so most later requests fit a pooled one.
   */
  constructor(max: number, minSize: number) {
    this.#max = max;
    this.#minSize = minSize;
  }

  /** A Buffer of exactly `n` bytes at offset 0 of an ArrayBuffer of its own (transferable). */
  take(n: number): Buffer {
    const free = this.#free;
    for (let i = free.length - 1; i >= 0; i--) {
      const ab = free[i] as ArrayBuffer;
      if (ab.byteLength >= n) {
        free[i] = free[free.length - 1] as ArrayBuffer;
        free.pop();
        return Buffer.from(ab, 0, n);
      }
    }
    // A quarter more than asked: sizes vary a little from chunk to chunk.
    const size = Math.max(this.#minSize, n + (n >>> 2));
    return Buffer.from(Buffer.allocUnsafeSlow(size).buffer, 0, n);
  }

  /** Gives `ab` back; it must not be used by the giver afterwards. Detached buffers are ignored. */
  give(ab: ArrayBuffer): void {
    if (ab.byteLength === 0 || this.#free.length >= this.#max) return;
    this.#free.push(ab);
  }

  get size(): number {
    return this.#free.length;
  }
}
