/**
 * Warming an isolate's encoder before its first real chunk, so that V8 optimizes the hot loop
 * once, with every branch already seen, instead of three or four times.
 *
 * Why: V8 optimizes encodeCleanLine and encodeLines after a few hundred lines of the first chunk.
 * Branches that those lines never took (an app id of one digit or of six, a varint of three
 * bytes, a coordinate without a dot, the second id of a pair) have no type feedback then, and
 * TurboFan compiles them as deoptimization exits. The first line that takes one throws the code
 * away, the function runs in baseline code until V8 optimizes it again, and so on for the next
 * cold branch: `--trace-deopt` showed 3-4 compiles of encodeCleanLine per isolate ("Insufficient
 * type feedback"), each costing a TurboFan compile of the largest function, in every worker.
 *
 * The lines below take each of those branches within the first few dozen lines, and a few take
 * the general parser's (rejects, dropped apps), so the feedback is complete before V8 decides to
 * optimize. Their output is dropped; nothing of it reaches a result, a tally or a pool.
 *
 * With the native encoder only the chunk's first NATIVE_LINES are used: what then runs in JS is
 * the loop, the addon's call and the general parser on the lines the addon declines, and those
 * lines have each of them (encode-chunk.ts never calls the JS fast path in that mode). Making the
 * 3,000 lines cost 30-70 ms of CPU in cold code, in every run and every thread (issue #19).
 */
import { DEVICE_TYPES } from '../config/servers.js';
import type { EncodeSettings } from './chunk-types.js';
import { encodeChunk } from './encode-chunk.js';

const COORDS = ['55.55', '-42.7', '0', '-0.0001', '123.456789012345', '7', '-180', '89.99999'];
/** App ids of every digit count the fast path reads, and varints of one, two and more bytes. */
const APP_IDS = ['5', '99', '127', '128', '200', '9999', '16383', '16384', '12345', '123456', '1234567', '12345678', '987654321', '1', '42', '7000'];
/** Lines the fast path declines, for the general parser: each reject reason, and dropped apps. */
const OTHER = [
  '',
  'idfa\t\t1.5\t2.5\t1,2',
  'xxxx\tabc\t1.5\t2.5\t1,2',
  'gaid\tbad id\t1.5\t2.5\t1,2',
  'gaid\tabc\tnope\t2.5\t1,2',
  'adid\tabc\t1.5',
  'dvid\tabc\t1.5\t2.5\t1,x,3',
  'idfa\tabc\t1.5\t2.5\t1234567890,2',
  // An exponent with and without a sign: the bench's data has `1e-05`, and the sign's branch of
  // scanDecimal, never taken in warm-up, deoptimized it mid-run (issue #19).
  'gaid\tabc\t1e3\t2.5e-05\t4',
  'adid\tabc\t1.5\t2.5\t1,,2',
];
/** Lines in the warm-up chunk: enough for V8 to optimize within it, as it would in a real one. */
const LINES = 3000;
/** With the native encoder: the first lines, every OTHER line (one each 50) and both long ones among them. */
export const NATIVE_LINES = 500;

/** Lines with long values: a 4-digit and a 5-digit length (the value is moved once its length is known). */
const LONG_APPS = [400, 2500];

const cached = new Map<number, Uint8Array>();

/**
 * The warm-up chunk: deterministic, every variant in the first few dozen lines. A view over an
 * ArrayBuffer of its own, as chunks reach a worker: encodeChunk then makes the same kind of
 * Buffer of it as of a real chunk (a Buffer made from a string had another map, and the loop
 * was deoptimized for it at the first real chunk).
 */
export function warmUpChunk(count = LINES): Uint8Array {
  const made = cached.get(count);
  if (made !== undefined) return made;
  const lines: string[] = [];
  for (let n = 0; n < count; n++) {
    if (n === 3 || n === 11) {
      const count = LONG_APPS[n === 3 ? 0 : 1] as number;
      lines.push(`idfa\tlong${n}\t1.5\t-2.5\t${Array.from({ length: count }, (_, k) => APP_IDS[k % APP_IDS.length]).join(',')}`);
      continue;
    }
    if (n % 50 === 7) {
      lines.push(OTHER[(n / 50) % OTHER.length | 0] as string);
      continue;
    }
    const type = DEVICE_TYPES[n % DEVICE_TYPES.length] as string;
    // Ids of every length mod 4 (the word copy's tail), up to a UUID's.
    const id = `e7b2${(n * 2654435761 >>> 0).toString(16)}-4f1a-9c0d-${'0123456789abcdef'.slice(0, n % 17)}`.slice(0, 1 + (n % 40));
    const apps: string[] = [];
    for (let k = 0; k < n % 7; k++) apps.push(APP_IDS[(n * 3 + k * 5) % APP_IDS.length] as string);
    lines.push(`${type}\t${id}\t${COORDS[n % COORDS.length]}\t${COORDS[(n >>> 3) % COORDS.length]}\t${apps.join(',')}`);
  }
  const text = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
  const chunk = new Uint8Array(new ArrayBuffer(text.length), 0, text.length);
  chunk.set(text);
  cached.set(count, chunk);
  return chunk;
}

/**
 * Runs the encoder over the warm-up chunk with `settings`, dropping what it makes. `asBuffer`: the
 * chunk as a Buffer, as the main thread's chunks are (a thread's arrive as plain Uint8Arrays).
 */
export function warmUp(settings: EncodeSettings, asBuffer = false): void {
  const chunk = warmUpChunk(settings.encoder === 'native' ? NATIVE_LINES : LINES);
  encodeChunk(asBuffer ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : chunk, settings);
}
