/**
 * Which inflater reads the files, for --gunzip `asked`:
 * - `auto` (the default): the fastest that passed its start-up check: ISA-L (isal-gunzip.ts),
 *   else zlib on the reading thread (inline-gunzip.ts), else zlib on libuv's pool. It says which
 *   once per process at info level; a missing native inflater is a normal install without
 *   libisal-dev, not a fault.
 * - `isal`, `inline`: that one, or the next in that order with a warning when it cannot be used,
 *   also once per process: a cluster worker builds a feed per file, and the reason does not change.
 * - `pool`: Node's zlib stream on libuv's thread pool.
 */
import type { GunzipMode } from '../config/options.js';
import { isalEngine, isalStatus } from './isal-gunzip.js';
import { InlineGunzip, inlineGunzipAvailable } from './inline-gunzip.js';
import { PoolGunzip, type GunzipPieces } from './pool-gunzip.js';

/** The inflater that runs. */
export type Inflater = 'isal' | 'inline' | 'pool';

/** A line for the log, or null: why a choice is not the one asked for, or which `auto` took; each line once per process. */
export type ChoiceNote = { readonly level: 'info' | 'warn'; readonly msg: string } | null;

export interface GunzipChoice {
  readonly inflater: Inflater;
  readonly note: ChoiceNote;
}

/** The lines said in this process. */
const told = new Set<string>();

export function gunzipChoice(asked: GunzipMode): GunzipChoice {
  if (asked === 'pool') return { inflater: 'pool', note: null };
  const zlib: Inflater = inlineGunzipAvailable() ? 'inline' : 'pool';
  const inlineWhy = zlib === 'pool' ? `inline gunzip is not verified on Node.js ${process.version}` : null;
  if (asked === 'inline') {
    return { inflater: zlib, note: inlineWhy === null ? null : noteOnce('warn', `${inlineWhy}: inflating on libuv's thread pool instead (--gunzip pool)`) };
  }
  const isal = isalStatus();
  if (isal.ok) return { inflater: 'isal', note: noteOnce('info', 'Inflating with the native ISA-L inflater (--gunzip isal)') };
  const instead = zlib === 'inline' ? 'with zlib on the reading thread (--gunzip inline)' : `on libuv's thread pool (--gunzip pool; ${inlineWhy})`;
  const msg = `Native ISA-L inflater not used: ${isal.why}; inflating ${instead}`;
  return { inflater: zlib, note: noteOnce(asked === 'isal' ? 'warn' : 'info', msg) };
}

/**
 * The line the first time in this process (a cluster worker builds a feed per file), then null;
 * also for the encoder's choice (pipeline/native-encode.ts).
 */
export function noteOnce(level: 'info' | 'warn', msg: string): ChoiceNote {
  const line = `${level} ${msg}`;
  if (told.has(line)) return null;
  told.add(line);
  return { level, msg };
}

/** The decompressed pieces of `path` through `inflater`. */
export function gunzipPieces(inflater: Inflater, path: string, onOpen?: (size: number) => void): GunzipPieces {
  if (inflater === 'pool') return new PoolGunzip(path, onOpen);
  return inflater === 'isal' ? new InlineGunzip(path, onOpen, undefined, isalEngine) : new InlineGunzip(path, onOpen);
}
