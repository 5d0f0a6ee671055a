/** Shared pieces for the tests of the chunk encoder (src/pipeline/encode-chunk.ts). */
import type { ChunkResult, EncodeSettings } from '../../src/pipeline/chunk-types.js';

/** Settings as a run with no options has them, with `over` on top. */
export function encodeSettings(over: Partial<EncodeSettings> = {}): EncodeSettings {
  return { maxLineBytes: 1024 * 1024, ttl: 0, packed: false, dry: false, serverLabels: ['a:1', 'b:2', 'c:3', 'd:4'], maxSamples: 100, ...over };
}

/** A result with its frames as latin1 text, so that deepEqual compares their bytes. */
export function plainResult(r: ChunkResult): Omit<ChunkResult, 'frames'> & { frames: (string | null)[] } {
  return { ...r, frames: r.frames.map((f) => (f === null ? null : Buffer.from(f).toString('latin1'))) };
}
