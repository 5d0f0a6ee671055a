/**
 * The encoders' split of a pooled type's frames by node: each quiet meta set goes, whole and in
 * line order, to the lane of the node its key is placed on. Runs in the worker threads.
 */
import type { Placement } from './placement.js';

const MIN_SCRATCH = 64 * 1024;
// A lane buffer grown past this by one huge chunk is dropped afterwards, not kept for life.
const MAX_RETAINED = 64 * 1024 * 1024;
const EMPTY = new Uint8Array(0);
/** Per lane: its frames of the chunk being split. Module state: a split is never re-entered. */
const laneScratch: Uint8Array[] = [];
const laneUsed: number[] = [];

/**
 * Splits `used` bytes of one type's frames among its pool's lanes (`base` + node): counts each
 * lane's records into `records`, and puts in `frames` what `finish` makes of each lane's bytes
 * (the lane's result buffer, closed with its `mn`); a lane with no record keeps its null.
 */
export function splitPool(
  src: Uint8Array,
  used: number,
  placement: Placement,
  base: number,
  records: number[],
  frames: (Uint8Array | null)[],
  finish: (buf: Uint8Array, used: number) => Uint8Array,
): void {
  for (let n = 0; n < placement.nodes; n++) laneUsed[base + n] = 0;
  splitFrames(src, used, placement, (node, start, end) => {
    const lane = base + node;
    let out = laneScratch[lane] ?? EMPTY;
    const p = laneUsed[lane] as number;
    if (out.length - p < end - start) {
      let size = Math.max(out.length * 2, MIN_SCRATCH);
      while (size - p < end - start) size *= 2;
      const next = new Uint8Array(size);
      next.set(out.subarray(0, p));
      out = laneScratch[lane] = next;
    }
    out.set(src.subarray(start, end), p);
    laneUsed[lane] = p + end - start;
    records[lane]++;
  });
  for (let n = 0; n < placement.nodes; n++) {
    const lane = base + n;
    const bytes = laneUsed[lane] as number;
    if (bytes > 0) frames[lane] = finish(laneScratch[lane] as Uint8Array, bytes);
    if ((laneScratch[lane]?.length ?? 0) > MAX_RETAINED) laneScratch[lane] = EMPTY;
  }
}

const SPACE = 0x20;
const LF = 0x0a;
const ZERO = 0x30;

/**
 * Where each of `used` bytes of quiet meta sets (`ms <key> <len> <flags>\r\n<value>\r\n`, in line
 * order) goes: calls `take(node, start, end)` for each frame, in order, so that every node's
 * frames keep the order of their lines and the last line of a key still wins on its node.
 */
export function splitFrames(
  src: Uint8Array,
  used: number,
  placement: Placement,
  take: (node: number, start: number, end: number) => void,
): void {
  let p = 0;
  while (p < used) {
    const keyStart = p + 3;
    let q = keyStart;
    while (src[q] !== SPACE) q++;
    const keyEnd = q;
    let len = 0;
    for (q++; src[q] !== SPACE && src[q] !== 0x0d; q++) len = len * 10 + ((src[q] as number) - ZERO);
    while (src[q] !== LF) q++;
    const end = q + 1 + len + 2;
    take(placement.nodeOf(src, keyStart, keyEnd), p, end);
    p = end;
  }
}
