/**
 * gunzip on the calling thread, as a stream of pieces: a file is read asynchronously, 1 MiB at
 * a time, and each read is inflated synchronously, in steps of at most 1 MiB of output, each into
 * the same output buffer (a piece is valid until the iteration goes on: `reusesPieces`).
 *
 * Why: Node's zlib stream inflates on libuv's thread pool, and each step is started from the
 * main thread's event loop and answered on it, so the inflater waits whenever that loop is busy
 * and every step crosses threads twice. Inflating where the pieces are consumed removes both:
 * on the benchmark's 3M lines it saves 1.0–1.4 s of CPU and 2–12% of the wall time, and a bare
 * inflate costs 2.8 s instead of the stream's 3.7 s (docs/benchmarks.md, optimisation log).
 *
 * How: Node has no public synchronous *streaming* inflate (`gunzipSync` takes a whole buffer,
 * and its engine closes itself after one call). This uses the same native handle and call that
 * `gunzipSync` uses, `_handle.writeSync`, on a Gunzip that never flows: the C++ side is the one
 * the stream path uses, so multi-member files and error reporting behave alike (the tests run
 * both paths on the same files); zero padding after a member is handled by gzip-padding.ts on
 * both paths. Those are internals, so `inlineGunzipAvailable()`
 * only says yes on a Node major this was verified on, where the internals are present and
 * inflate a two-member sample correctly; otherwise the loader falls back to the stream. The
 * native call asserts its buffer bounds (a bad range aborts the process instead of throwing),
 * so every range is checked before the call.
 */
import { open } from 'node:fs/promises';
import { constants, createGunzip, gzipSync, type Gunzip } from 'node:zlib';
import { skipZeroPadding } from './gzip-padding.js';
import type { GunzipPieces } from './pool-gunzip.js';

/**
 * One gzip stream's inflater, as InlineGunzip drives it: Node's zlib (below) or ISA-L
 * (isal-gunzip.ts). Both stop after a member only before a zero byte, and throw zlib-coded
 * errors (`Z_DATA_ERROR`, `Z_BUF_ERROR`), so the loop and the padding rule serve both.
 */
export interface InflateEngine {
  /**
   * Inflates as much of `input[off, off + len)` as fits in `out`; `finish`: no input follows.
   * Every range is valid here (the caller checks). Throws on bad or (finishing) cut-short data.
   */
  step(finish: boolean, input: Uint8Array, off: number, len: number, out: Uint8Array): { consumed: number; produced: number };
  close(): void;
}

interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}

/** Compressed bytes per read, and decompressed bytes per inflate step at most (one piece). */
export interface InlineGunzipSizes {
  readonly readBytes: number;
  readonly stepBytes: number;
}
const DEFAULT_SIZES: InlineGunzipSizes = { readBytes: 1024 * 1024, stepBytes: 1024 * 1024 };
const NO_INPUT = new Uint8Array(0);

function internals(g: Gunzip): { handle: ZlibHandle; state: Uint32Array } | null {
  const raw = g as unknown as { _handle?: { writeSync?: unknown }; _writeState?: unknown };
  const handle = raw._handle;
  const state = raw._writeState;
  if (handle === undefined || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array) || state.length < 2) return null;
  return { handle: handle as ZlibHandle, state };
}

/**
 * Node majors whose zlib internals this was checked against (CI runs the whole suite on each).
 * On 20, 22 and 24 lib/zlib.js gives a Gunzip the same `_handle` (a native Zlib with
 * `writeSync(flush, in, inOff, inLen, out, outOff, outLen)`) and `_writeState` (a Uint32Array of
 * [availOutAfter, availInAfter]), and a gzip error destroys the stream from inside the call with
 * the same `Z_DATA_ERROR` / `Z_BUF_ERROR` codes. A new major is added only after the suite,
 * gunzip.test.ts included, passes on it; the start-up check stays as a guard either way.
 */
const VERIFIED_NODE_MAJORS: readonly number[] = [20, 22, 24];

let available: boolean | null = null;

/** Whether inline gunzip can be used in this process (checked once). */
export function inlineGunzipAvailable(): boolean {
  available ??= VERIFIED_NODE_MAJORS.includes(Number(process.versions.node.split('.')[0])) && inflatesSample();
  return available;
}

/** The internals are there and inflate a two-member gzip sample to the right bytes in one call. */
function inflatesSample(): boolean {
  const want = 'memc-load\ninline gunzip\n';
  const sample = Buffer.concat([gzipSync('memc-load\n'), gzipSync('inline gunzip\n')]);
  const g = createGunzip();
  g.on('error', () => {});
  try {
    const z = internals(g);
    if (z === null) return false;
    const out = Buffer.alloc(64);
    z.handle.writeSync(constants.Z_FINISH, sample, 0, sample.length, out, 0, out.length);
    return !g.destroyed && z.state[1] === 0 && out.toString('latin1', 0, out.length - (z.state[0] as number)) === want;
  } finally {
    g.close();
  }
}

/** Node's zlib, through the native handle `gunzipSync` uses (see the top of this file). */
export function zlibEngine(): InflateEngine {
  const gunzip = createGunzip();
  // The stream reports a gzip error by destroying itself, which also emits 'error' later: with
  // no listener that would be an uncaught exception. The error is read from `errored`.
  gunzip.on('error', () => {});
  const z = internals(gunzip);
  if (z === null) {
    gunzip.close();
    throw new Error('inline gunzip is not available in this Node.js (use the stream path)');
  }
  return {
    step(finish, input, off, len, out) {
      const flush = finish ? constants.Z_FINISH : constants.Z_NO_FLUSH;
      // The native side asserts its bounds (a bad range aborts the process, it does not throw):
      // an empty range is always passed as (NO_INPUT, 0, 0).
      if (len === 0) z.handle.writeSync(flush, NO_INPUT, 0, 0, out, 0, out.length);
      else z.handle.writeSync(flush, input, off, len, out, 0, out.length);
      // On a gzip error the native side has already called back into the stream, which
      // destroyed itself with the error (and the write state was not updated).
      if (gunzip.destroyed) throw gunzip.errored ?? new Error('gunzip failed');
      return { consumed: len - (z.state[1] as number), produced: out.length - (z.state[0] as number) };
    },
    close: () => gunzip.close(),
  };
}

export class InlineGunzip implements GunzipPieces {
  readonly #path: string;
  readonly #onOpen: ((size: number) => void) | undefined;
  readonly #sizes: InlineGunzipSizes;
  readonly #engine: () => InflateEngine;
  bytesRead = 0;
  bytesInflated = 0;
  readonly reusesPieces = true;

  /** `sizes` are for tests: small reads and steps put every boundary case within reach. */
  constructor(path: string, onOpen?: (size: number) => void, sizes: InlineGunzipSizes = DEFAULT_SIZES, engine: () => InflateEngine = zlibEngine) {
    this.#path = path;
    this.#onOpen = onOpen;
    this.#sizes = sizes;
    this.#engine = engine;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const file = await open(this.#path, 'r');
    let z: InflateEngine | null = null;
    // The read of the next 1 MiB, started before the current one is inflated.
    let ahead: Promise<{ bytesRead: number }> | null = null;
    try {
      z = this.#engine();
      this.#onOpen?.((await file.stat()).size);
      const { readBytes, stepBytes } = this.#sizes;
      // Two input buffers: one is inflated while the next read fills the other, so the thread
      // does not wait for each read (it waited ~0.8 s of an 8.4 s run with one buffer).
      const inputs = [Buffer.allocUnsafe(readBytes), Buffer.allocUnsafe(readBytes)] as const;
      let input: Buffer = inputs[0];
      // One step: as much of `input[off, off + len)` as fits in stepBytes of output, always into
      // the same buffer. A fresh 1 MiB per step cost ~0.1 s of page faults per million lines
      // (docs/benchmarks.md, optimisation log); the consumer copies what it keeps anyway.
      const engine = z;
      const out = Buffer.allocUnsafe(stepBytes);
      const step = (finish: boolean, off: number, len: number): { consumed: number; piece: Buffer | null; full: boolean } => {
        // The native inflaters assert or check their bounds: every range is checked here first.
        if (len !== 0 && !(off >= 0 && len > 0 && off + len <= input.length)) {
          throw new RangeError(`inline gunzip: input range ${off}+${len} outside ${input.length} bytes`);
        }
        const { consumed, produced } = engine.step(finish, input, off, len, out);
        this.bytesInflated += consumed;
        return { consumed, piece: produced === 0 ? null : produced === stepBytes ? out : out.subarray(0, produced), full: produced === stepBytes };
      };
      let next = 0;
      // File offset of the next read: reads are positioned, so the one after zero padding can
      // start where the next member does.
      let pos = 0;
      ahead = file.read(inputs[next], 0, readBytes, pos);
      for (;;) {
        const { bytesRead: n } = await ahead;
        ahead = null;
        if (n === 0) break;
        const base = pos;
        pos += n;
        this.bytesRead = pos;
        input = inputs[next];
        next ^= 1;
        ahead = file.read(inputs[next], 0, readBytes, pos);
        let off = 0;
        for (;;) {
          const s = step(false, off, n - off);
          off += s.consumed;
          if (s.piece !== null) yield s.piece;
          // Output room left over means the input was used up, or zlib stopped at the end of a
          // member because a zero byte follows.
          if (!s.full) break;
        }
        if (off === n) continue;
        // Zero padding: the next member, if any, is fed from its first byte; zlib, at the end of
        // a member, starts a new one when the input does not begin with a zero.
        await ahead;
        ahead = null;
        const after = await skipZeroPadding(file, this.#path, base + off);
        this.bytesInflated = after.at;
        if (!after.member) {
          this.bytesRead = after.at;
          break;
        }
        pos = after.at;
        ahead = file.read(inputs[next], 0, readBytes, pos);
      }
      // Z_FINISH hands out what is still buffered and fails on a stream cut short.
      for (;;) {
        const s = step(true, 0, 0);
        if (s.piece !== null) yield s.piece;
        if (!s.full) break;
      }
    } finally {
      z?.close();
      // A read still in flight (after an error, or a consumer that stopped early) ends first.
      await ahead?.catch(() => undefined);
      await file.close();
    }
  }
}
