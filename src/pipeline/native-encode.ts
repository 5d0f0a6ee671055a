/**
 * The encoder's fast path in C (--encoder native): native/fast-encode, an N-API addon that
 * encodes a run of clean lines per call, writing the very bytes fast-line.ts's encodeCleanLine
 * writes and declining every line it would decline (encode-chunk.ts calls it; the line it stops
 * at goes the JS way). It saves the JS parse+encode's CPU (docs/benchmarks.md, optimisation log).
 *
 * The addon is optional: it is built at install wherever node-gyp and Node's headers are
 * (scripts/build-native.mjs, which never fails the install). It is used only when it loads and a
 * start-up check encodes known lines to the JS fast path's bytes (pinned as SAMPLE_FRAMES) and
 * stops at a line the JS fast path declines; otherwise `nativeEncodeStatus()` says why and lines
 * are encoded in JS.
 * `MEMC_LOAD_NO_NATIVE_ENCODE=1` makes the loader ignore the addon (the "addon missing" path).
 * Checked once per thread: worker threads load it themselves.
 */
import { createHash } from 'node:crypto';
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
/** How the addon reads app ids: with AVX-512 (AVX512-VBMI2 CPUs), with AVX2 (AVX2 and BMI2 CPUs without it), or one at a time. */
export type NativeSimd = 'avx512' | 'avx2' | 'none';
let simd: NativeSimd = 'none';
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

/**
 * How the addon reads app ids in this thread: 'avx512' (16 at a time), 'avx2' (up to 8 at a time)
 * or 'none' (one at a time); 'none' when it is not used. The addon picks the best its CPU has
 * when it loads; MEMC_LOAD_SIMD=avx512|avx2|none asks for one (a path the CPU lacks gives the
 * best below it), MEMC_LOAD_NO_SIMD=1 means none.
 */
export function nativeEncodeSimd(): NativeSimd {
  return nativeEncodeStatus().ok ? simd : 'none';
}

/** The encoder for --encoder `asked`: `auto` and `native` take the native one where it passed its check. */
export function resolveEncoder(asked: EncoderMode): Encoder {
  return asked !== 'js' && nativeEncodeStatus().ok ? 'native' : 'js';
}

/** resolveEncoder's choice, with the line to log once per process: which `auto` took, or why `native` could not be had. */
export function encoderChoice(asked: EncoderMode): { readonly encoder: Encoder; readonly note: ChoiceNote } {
  const encoder = resolveEncoder(asked);
  if (asked === 'js') return { encoder, note: null };
  if (encoder === 'native') {
    const ids =
      simd === 'avx512' ? 'AVX-512, 16 at a time' : simd === 'avx2' ? 'AVX2, up to 8 at a time' : 'one at a time (no AVX2, or MEMC_LOAD_SIMD=none or MEMC_LOAD_NO_SIMD=1)';
    return { encoder, note: noteOnce('info', `Encoding lines with the native encoder (--encoder native), app ids ${ids}`) };
  }
  const s = nativeEncodeStatus();
  const msg = `Native line encoder not used: ${s.ok ? 'unknown' : s.why}; encoding lines in JS (--encoder js)`;
  return { encoder, note: noteOnce(asked === 'native' ? 'warn' : 'info', msg) };
}

function check(): NativeEncodeStatus {
  const loaded = loadAddon<{ run: NativeRun; simd?: string }>({
    path: 'fast-encode/build/Release/fast_encode.node',
    optOut: 'MEMC_LOAD_NO_NATIVE_ENCODE',
    needs: 'no node-gyp or Node headers',
    check: (a) => sampleFails(a.run),
  });
  run = loaded.addon?.run ?? null;
  const said = loaded.addon?.simd;
  simd = said === 'avx512' || said === 'avx2' ? said : 'none';
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

/** SAMPLE as the encoders read it: latin1, each line ending in a newline. */
export function sampleInput(): Buffer {
  return Buffer.from(`${SAMPLE.join('\n')}\n`, 'latin1');
}

/** What an encoder made of SAMPLE: where it stopped, lines taken, and per type the bytes' length and SHA-256. */
export interface SampleFrames {
  readonly stop: number;
  readonly taken: number;
  readonly types: readonly (readonly [used: number, sha256: string])[];
}

/**
 * SAMPLE's frames as the JS fast path writes them (TTL 3600): what the addon must write.
 * Pinned, not computed at start-up: running encodeCleanLine over the sample's 3,800 app ids made
 * V8 compile it with TurboFan in every run, though with the addon it never runs (issue #19). The
 * unit test derives these from encodeCleanLine (jsSampleFrames), so they cannot drift from it.
 */
export const SAMPLE_FRAMES: SampleFrames = {
  stop: 22496,
  taken: SAMPLE_TAKEN,
  types: [
    [103, '6b45d695b101ab58604b2b304d60be29f155593fba34aebe668e882271857072'],
    [10287, '5b331ab2d643300333161583062bc7cbe086b22deb23f55a3c95a9c29af44b76'],
    [328, '5f20e915307e465d8a03077dcdcce0fc623824860a27c1eb7d4432822a87a430'],
    [1216, '4a9cfeb86ac1d8c571a40156872a3785efa5719f2c473711286c86bef0781925'],
  ],
};

/** Room for every sample line of a type, so that room never stops either encoder. */
const SAMPLE_OUT_BYTES = 2 * FAST_OUT_ROOM + 64 * 1024;

function digest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SAMPLE through the JS fast path: what SAMPLE_FRAMES pins (the unit test's reference). */
export function jsSampleFrames(): SampleFrames {
  const input = sampleInput();
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const flags = metaSetFlags(3600);
  const js = Array.from({ length: 4 }, () => new Uint8Array(SAMPLE_OUT_BYTES));
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
  return { stop: start, taken, types: js.map((out, t) => [jsUsed[t] as number, digest(out.subarray(0, jsUsed[t]))] as const) };
}

/** Null when the addon writes SAMPLE_FRAMES for SAMPLE's clean lines and stops at the declined one; else what went wrong. */
export function sampleFails(native: NativeRun): string | null {
  try {
    const input = sampleInput();
    const want = SAMPLE_FRAMES;
    const outs = Array.from({ length: 4 }, () => new Uint8Array(SAMPLE_OUT_BYTES));
    const state = new Int32Array(NATIVE_STATE_LENGTH);
    const stop = native(input, 0, input.length - 1, FAST_MAX_LINE, metaSetFlags(3600), outs[0] as Uint8Array, outs[1] as Uint8Array, outs[2] as Uint8Array, outs[3] as Uint8Array, state);
    if (stop !== want.stop || state[8] !== want.taken) return `it stopped at ${stop} after ${state[8]} lines, not at ${want.stop} after ${want.taken}`;
    for (let t = 0; t < 4; t++) {
      const [used, sha] = want.types[t] as readonly [number, string];
      if (state[t] !== used || digest((outs[t] as Uint8Array).subarray(0, used)) !== sha) return `wrong bytes for type ${t}`;
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
