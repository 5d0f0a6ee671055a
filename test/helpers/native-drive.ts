/**
 * Runs the native encoder over appIdInputs from every line start and prints, as one JSON line,
 * the addon's app id path and a SHA-256 of every stop, count and byte written. The paths
 * (AVX-512, AVX2, one id at a time) are chosen when the addon loads (MEMC_LOAD_SIMD=avx512|avx2|none,
 * MEMC_LOAD_NO_SIMD=1), once per process: test/unit/pipeline/native-encode.test.ts runs this in
 * children with each and compares their digests with its own and with the JS fast path's
 * (driveDigest over a JS run).
 *
 *   node dist/test/helpers/native-drive.js SEED COUNT [TTL,TTL,...]
 *
 * Input k gets the line limit LINE_LIMITS[k % 4] and the TTL TTLS[k % TTLS.length] (default 0).
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { metaSetFlags } from '../../src/memcached/encode.js';
import { FAST_MAX_LINE, FAST_OUT_ROOM } from '../../src/pipeline/fast-line.js';
import { NATIVE_STATE_LENGTH, nativeEncodeSimd, nativeRun, type NativeRun } from '../../src/pipeline/native-encode.js';
import { appIdInputs } from './app-id-lines.js';

const LF = 0x0a;
const LINE_LIMITS = [64, 100, 250, FAST_MAX_LINE];

export interface DriveResult {
  /** The addon's app id path, or `js` for a run given by the caller. */
  readonly simd: string;
  readonly digest: string;
  readonly taken: number;
}

/** The digest of `run` (the addon's, unless given) over appIdInputs(seed, count) from every line start. */
export function driveDigest(seed: number, count: number, ttls: readonly number[] = [0], given?: NativeRun): DriveResult {
  const run = given ?? nativeRun();
  const hash = createHash('sha256');
  let taken = 0;
  appIdInputs(seed, count).forEach((input, k) => {
    const lastLf = input.lastIndexOf(LF);
    const maxLine = LINE_LIMITS[k % LINE_LIMITS.length] as number;
    const flags = metaSetFlags(ttls[k % ttls.length] as number);
    for (let start = 0; start < lastLf; start = input.indexOf(LF, start) + 1) {
      const outs = Array.from({ length: 4 }, () => new Uint8Array(4 * FAST_OUT_ROOM));
      const state = new Int32Array(NATIVE_STATE_LENGTH);
      const stop = run(input, start, lastLf, maxLine, flags, outs[0] as Uint8Array, outs[1] as Uint8Array, outs[2] as Uint8Array, outs[3] as Uint8Array, state);
      taken += state[8] as number;
      hash.update(`${k}:${start}:${stop}:${state.join(',')};`);
      outs.forEach((o, t) => hash.update(o.subarray(0, state[t])));
    }
  });
  return { simd: given === undefined ? nativeEncodeSimd() : 'js', digest: hash.digest('hex'), taken };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ttls = process.argv[4] === undefined ? [0] : process.argv[4].split(',').map(Number);
  process.stdout.write(`${JSON.stringify(driveDigest(Number(process.argv[2]), Number(process.argv[3]), ttls))}\n`);
}
