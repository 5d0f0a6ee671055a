/**
 * Lines whose app ids put every shape the native encoder's vector paths must hand back to its
 * scalar loop (an empty id, a trailing comma, 5 digits or more, a byte of another kind, a leading
 * zero below 128) at every distance from the start of the 64-byte block they read (and, for
 * AVX2, of its 16-byte steps), and lines that end where the input does, so AVX-512's masked load
 * meets the chunk's last newline and AVX2 stops a block short of it. Deterministic: the same seed
 * gives the same bytes in every process (each path runs in a child).
 */
import { DEVICE_TYPES } from '../../src/config/servers.js';

/** Deterministic numbers in [0, 1) (mulberry32), so a failure can be replayed from its seed. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What goes in the place of one id (or after the last, for the first two). */
const SHAPES = ['', ',', ',,7', '12345', '123456789', '1234567890', '99999999999', 'x', ' 12', '12 ', '\r', '0099', '0000', '0', '0127', '0128', '-1', '1.5', '\xff', '\t5', '\x00'];

function id(r: () => number): string {
  const x = r();
  const digits = x < 0.7 ? 4 : x < 0.85 ? 3 : x < 0.95 ? 2 : 1;
  let s = String(1 + Math.floor(r() * 9));
  for (let k = 1; k < digits; k++) s += String(Math.floor(r() * 10));
  return s;
}

/** One line (no newline): ids of 1..4 digits with, in 3 lines of 4, one SHAPES entry among or after them. */
export function appIdLine(r: () => number): string {
  const n = Math.floor(r() * 45);
  const ids = Array.from({ length: n }, () => id(r));
  if (r() < 0.75) {
    const shape = SHAPES[Math.floor(r() * SHAPES.length)] as string;
    if (shape === ',' || r() < 0.3) ids.push(shape === ',' ? '' : shape);
    else ids.splice(Math.floor(r() * (n + 1)), 0, shape);
  }
  const type = DEVICE_TYPES[Math.floor(r() * 4)];
  const dev = 'f'.repeat(1 + Math.floor(r() * 40));
  return `${type}\t${dev}\t-82.4757428856\t177.986385489\t${ids.join(',')}`;
}

/** `count` inputs of 1..4 lines from `seed` on; a fifth of them stop right after their last newline's line without one. */
export function appIdInputs(seed: number, count: number): Buffer[] {
  return Array.from({ length: count }, (_, k) => {
    const r = rng(seed + k);
    const lines = Array.from({ length: 1 + Math.floor(r() * 4) }, () => appIdLine(r));
    return Buffer.from(`${lines.join('\n')}\n`, 'latin1');
  });
}
