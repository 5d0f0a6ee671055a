/**
 * The native inflater (--gunzip isal): ISA-L's streaming `isal_inflate` through the N-API addon in
 * native/isal-inflate, driven by InlineGunzip's loop as Node's zlib is. It inflates the same bytes
 * for about half the CPU (docs/benchmarks.md, optimisation log).
 *
 * The addon is optional: it is built at install where libisal-dev is present
 * (scripts/build-native.mjs, which never fails the install). It is used only when it loads and a
 * start-up check inflates a known two-member sample to the right bytes and rejects a broken one as
 * zlib does; otherwise `isalStatus()` says why and the loader inflates with zlib.
 * `MEMC_LOAD_NO_ISAL=1` makes the loader ignore the addon (the "addon missing" path, on purpose).
 */
import { gzipSync } from 'node:zlib';
import { loadAddon, type AddonStatus } from '../native-addon.js';
import type { InflateEngine } from './inline-gunzip.js';

interface Addon {
  create(): unknown;
  inflate(z: unknown, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number, finish: boolean, result: Uint32Array): void;
  close(z: unknown): void;
}

export type IsalStatus = AddonStatus;

let addon: Addon | null = null;
let status: IsalStatus | null = null;

/** Whether the native inflater can be used in this process (checked once), or why not. */
export function isalStatus(): IsalStatus {
  status ??= check();
  return status;
}

function check(): IsalStatus {
  const loaded = loadAddon<Addon>({ path: 'isal-inflate/build/Release/isal_inflate.node', optOut: 'MEMC_LOAD_NO_ISAL', needs: 'no libisal-dev', check: sampleFails });
  addon = loaded.addon;
  return loaded.status;
}

/** Null when the addon inflates a two-member sample in small steps and refuses a bad CRC; else what went wrong. */
function sampleFails(a: Addon): string | null {
  const want = 'memc-load\nisal inflate\n';
  const sample = Buffer.concat([gzipSync('memc-load\n'), gzipSync('isal inflate\n')]);
  const result = new Uint32Array(2);
  try {
    const z = a.create();
    const out = Buffer.alloc(64);
    let off = 0;
    let produced = 0;
    // Seven bytes in, five bytes out at a time: every call resumes mid-header, mid-block or mid-trailer.
    while (off < sample.length || produced < want.length) {
      const len = Math.min(7, sample.length - off);
      a.inflate(z, sample, off, len, out, produced, Math.min(5, out.length - produced), off + len === sample.length, result);
      off += result[0] as number;
      produced += result[1] as number;
      if (result[0] === 0 && result[1] === 0) return 'it stopped short';
    }
    a.close(z);
    if (out.toString('latin1', 0, produced) !== want) return 'wrong bytes out';
    const bad = gzipSync('memc-load\n');
    bad[bad.length - 8] ^= 1;
    const y = a.create();
    try {
      a.inflate(y, bad, 0, bad.length, out, 0, out.length, true, result);
      return 'a broken CRC passed';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw err;
    } finally {
      a.close(y);
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** An ISA-L inflater for one gzip stream; only after isalStatus() said ok. */
export function isalEngine(): InflateEngine {
  const a = addon;
  if (a === null) throw new Error('the native ISA-L inflater is not available (see isalStatus())');
  const z = a.create();
  const result = new Uint32Array(2);
  return {
    step(finish, input, off, len, out) {
      a.inflate(z, input, off, len, out, 0, out.length, finish, result);
      return { consumed: result[0] as number, produced: result[1] as number };
    },
    close: () => a.close(z),
  };
}
