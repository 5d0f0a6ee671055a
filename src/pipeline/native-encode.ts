/**
 * The encoder's fast path in C (--encoder native): native/fast-encode, an N-API addon that
 * encodes a run of clean lines per call, writing the very bytes fast-line.ts's encodeCleanLine
 * writes and declining every line it would decline (encode-chunk.ts calls it; the line it stops
 * at goes the JS way). It saves the JS parse+encode's CPU (docs/benchmarks.md, optimisation log).
 *
 * The addon is optional: it is built at install wherever node-gyp and Node's headers are
 * (scripts/build-native.mjs, which never fails the install). It is used only when it loads and a
 * start-up check encodes known lines to the JS fast path's bytes and stops at a line the JS fast
 * path declines; otherwise `nativeEncodeStatus()` says why and lines are encoded in JS.
 * `MEMC_LOAD_NO_NATIVE_ENCODE=1` makes the loader ignore the addon (the "addon missing" path).
 * Checked once per thread: worker threads load it themselves.
 */
import type { EncoderMode } from '../config/options.js';
import { noteOnce, type ChoiceNote } from '../logfile/gunzip-choice.js';
import { metaSetFlags } from '../memcached/encode.js';
import { loadAddon, type AddonStatus } from '../native-addon.js';
import { FAST_MAX_LINE, FAST_OUT_ROOM, encodeCleanLine, fastResult, peekType } from './fast-line.js';

/** The encoder that runs: the C fast path, or the JS one (fast-line.ts). */
export type Encoder = 'native' | 'js';

/**
 * Encodes clean lines of `input` from `start` while they begin before `lastLf - 4` and their
 * type's `outs[type]` has FAST_OUT_ROOM + flags bytes free after `state[type]` (used); adds to
 * used and `state[4 + type]` (records), puts the lines taken in `state[8]`, and returns the start
 * of the first line not taken.
 */
export type NativeRun = (
  input: Uint8Array,
  start: number,
  lastLf: number,
  maxLine: number,
  flags: Uint8Array,
  out0: Uint8Array,
  out1: Uint8Array,
  out2: Uint8Array,
  out3: Uint8Array,
  state: Int32Array,
) => number;

/** used[4], records[4], lines taken. */
export const NATIVE_STATE_LENGTH = 9;

export type NativeEncodeStatus = AddonStatus;

let run: NativeRun | null = null;
let status: NativeEncodeStatus | null = null;

/** Whether the native encoder can be used in this thread (checked once), or why not. */
export function nativeEncodeStatus(): NativeEncodeStatus {
  status ??= check();
  return status;
}

/** The addon's run(); only after nativeEncodeStatus() said ok. */
export function nativeRun(): NativeRun {
  if (nativeEncodeStatus().ok && run !== null) return run;
  throw new Error('the native line encoder is not available (see nativeEncodeStatus())');
}

/** The encoder for --encoder `asked`: `auto` and `native` take the native one where it passed its check. */
export function resolveEncoder(asked: EncoderMode): Encoder {
  return asked !== 'js' && nativeEncodeStatus().ok ? 'native' : 'js';
}

/** resolveEncoder's choice, with the line to log once per process: which `auto` took, or why `native` could not be had. */
export function encoderChoice(asked: EncoderMode): { readonly encoder: Encoder; readonly note: ChoiceNote } {
  const encoder = resolveEncoder(asked);
  if (asked === 'js') return { encoder, note: null };
  if (encoder === 'native') return { encoder, note: noteOnce('info', 'Encoding lines with the native encoder (--encoder native)') };
  const s = nativeEncodeStatus();
  const msg = `Native line encoder not used: ${s.ok ? 'unknown' : s.why}; encoding lines in JS (--encoder js)`;
  return { encoder, note: noteOnce(asked === 'native' ? 'warn' : 'info', msg) };
}

function check(): NativeEncodeStatus {
  const loaded = loadAddon<{ run: NativeRun }>({
    path: 'fast-encode/build/Release/fast_encode.node',
    optOut: 'MEMC_LOAD_NO_NATIVE_ENCODE',
    needs: 'no node-gyp or Node headers',
    check: (a) => sampleFails(a.run),
  });
  run = loaded.addon?.run ?? null;
  return loaded.status;
}

/**
 * Lines of every type and every length branch (2-, 3-, 4- and 5-digit values, 1..5-byte varints,
 * negative and fractional coordinates), a line the fast path declines, and clean lines after it.
 */
const SAMPLE = [
  'idfa\te7e1a50c0ec2747ca56cd9e1558c0d7c\t67.7835424444\t-22.8044005471\t7942,8519,4232,3032,4766,9283,5682,155,9817,7527',
  'gaid\tx\t0\t-0\t',
  `adid\t${'k'.repeat(245)}\t-.5\t5.\t0,127,128,16383,16384,2097151,2097152,268435455,268435456,999999999,007`,
  `dvid\tz\t123456789.012345\t1\t${Array.from({ length: 400 }, (_, i) => 100 + i).join(',')}`,
  `gaid\ty\t1\t2\t${Array.from({ length: 3400 }, (_, i) => 10000 + i).join(',')}`,
  'idfa\tdeclined\t1e5\t2\t3',
  'dvid\tafter\t1\t2\t3',
];
const SAMPLE_TAKEN = 5;

/** Null when the addon writes the JS fast path's bytes for SAMPLE's clean lines and stops at the declined one; else what went wrong. */
function sampleFails(native: NativeRun): string | null {
  try {
    const input = Buffer.from(`${SAMPLE.join('\n')}\n`, 'latin1');
    const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
    const lastLf = input.length - 1;
    const flags = metaSetFlags(3600);
    const size = 2 * FAST_OUT_ROOM + 64 * 1024;
    const js = Array.from({ length: 4 }, () => new Uint8Array(size));
    const jsUsed = [0, 0, 0, 0];
    let start = 0;
    let taken = 0;
    for (;;) {
      const type = peekType(input, start);
      const next = type < 0 ? -1 : encodeCleanLine(input, inView, start, js[type] as Uint8Array, new DataView((js[type] as Uint8Array).buffer), jsUsed[type] as number, flags, FAST_MAX_LINE);
      if (next < 0) break;
      jsUsed[type] = fastResult.end;
      taken++;
      start = next;
    }
    if (taken !== SAMPLE_TAKEN) return `the JS fast path took ${taken} sample lines`;
    const outs = Array.from({ length: 4 }, () => new Uint8Array(size));
    const state = new Int32Array(NATIVE_STATE_LENGTH);
    const stop = native(input, 0, lastLf, FAST_MAX_LINE, flags, outs[0] as Uint8Array, outs[1] as Uint8Array, outs[2] as Uint8Array, outs[3] as Uint8Array, state);
    if (stop !== start || state[8] !== taken) return `it stopped at ${stop} after ${state[8]} lines, not at ${start} after ${taken}`;
    for (let t = 0; t < 4; t++) {
      if (state[t] !== jsUsed[t] || Buffer.compare((outs[t] as Uint8Array).subarray(0, state[t]), (js[t] as Uint8Array).subarray(0, jsUsed[t])) !== 0) return `wrong bytes for type ${t}`;
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

// The counts cross into C in one Int32Array; a chunk makes a few calls (one per line the addon
// stops at), so copying them in and out of the caller's arrays costs nothing that shows.
const state = new Int32Array(NATIVE_STATE_LENGTH);

/**
 * encode-chunk.ts's call: `run` over the scratch buffers with the caller's `used` and `records`
 * (per type), which it updates. Returns where it stopped and how many lines it took.
 */
export function nativeLines(
  native: NativeRun,
  input: Uint8Array,
  start: number,
  lastLf: number,
  maxLine: number,
  flags: Uint8Array,
  scratch: readonly Uint8Array[],
  used: number[],
  records: number[],
): { stop: number; lines: number } {
  for (let t = 0; t < 4; t++) {
    state[t] = used[t] as number;
    state[4 + t] = records[t] as number;
  }
  const stop = native(input, start, lastLf, maxLine, flags, scratch[0] as Uint8Array, scratch[1] as Uint8Array, scratch[2] as Uint8Array, scratch[3] as Uint8Array, state);
  for (let t = 0; t < 4; t++) {
    used[t] = state[t] as number;
    records[t] = state[4 + t] as number;
  }
  nativeResult.stop = stop;
  nativeResult.lines = state[8] as number;
  return nativeResult;
}
const nativeResult = { stop: 0, lines: 0 };
