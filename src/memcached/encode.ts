/**
 * Meta-protocol request frames, as bytes. Pure: no sockets here (STYLE.md, protocol layer).
 *
 *   ms <key> <datalen> q[ T<ttl>]\r\n<data>\r\n      one record
 *   mn\r\n                                          the fence that closes a batch
 *
 * Why these flags (memcached protocol.txt, "Meta Set" and "Meta No-Op"):
 * - `q` is quiet mode: a set that succeeds answers nothing (its `HD` is suppressed); only
 *   failures (`NS`, `EX`, `NF`, CLIENT_ERROR, SERVER_ERROR) are sent. `mn` always answers `MN`, and
 *   replies come in request order, so an `MN` acknowledges every quiet set before it.
 * - No `F` flag: client flags default to 0, which is what SPEC.md stores.
 * - No `T` flag when ttl is 0: the item never expires, the default.
 * - `ms` is a plain set, so re-sending a batch after a reconnect is idempotent.
 *
 * Keys are validated before anything is written, by the rule in record/key.ts: a key that breaks
 * it draws CLIENT_ERROR and memcached then reads our value line as a command, which throws every
 * later reply out of step.
 */
import { DEVICE_TYPES } from '../config/servers.js';
import { InvalidArgumentError } from '../errors.js';
import * as decimal from '../record/decimal.js';
import { isValidKey, MAX_KEY_BYTES } from '../record/key.js';

export { isValidKey };

/** The no-op fence; built once and shared, never write into it. */
export const MN: Buffer = Buffer.from('mn\r\n', 'latin1');

/**
 * The bytes after `<datalen>` up to and including the header's `\r\n`: ` q\r\n` or
 * ` q T<ttl>\r\n`. Cached per ttl since every record of a run uses the same one.
 */
export function metaSetFlags(ttl: number): Uint8Array {
  if (ttl === cachedFlagsTtl) return cachedFlags;
  if (!Number.isSafeInteger(ttl) || ttl < 0) {
    throw new InvalidArgumentError(`ttl must be a non-negative integer number of seconds, got ${ttl}`);
  }
  cachedFlags = Buffer.from(ttl === 0 ? ' q\r\n' : ` q T${ttl}\r\n`, 'latin1');
  cachedFlagsTtl = ttl;
  return cachedFlags;
}
let cachedFlagsTtl = 0;
let cachedFlags: Uint8Array = Buffer.from(' q\r\n', 'latin1');

/**
 * Encode one quiet meta set. Throws InvalidArgumentError (and returns nothing) when the key is
 * not a valid memcached key or the ttl is not a non-negative integer.
 */
export function encodeMetaSet(key: string | Uint8Array, value: Uint8Array, opts: { ttl?: number } = {}): Buffer {
  const keyBytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (!isValidKey(keyBytes)) {
    throw new InvalidArgumentError(
      `invalid memcached key (${keyBytes.length} bytes; 1..${MAX_KEY_BYTES}, no space or control byte allowed)`,
    );
  }
  const flags = metaSetFlags(opts.ttl ?? 0);
  const len = String(value.length);
  const frame = Buffer.allocUnsafe(3 + keyBytes.length + 1 + len.length + flags.length + value.length + 2);
  let p = frame.write('ms ', 0, 'latin1');
  frame.set(keyBytes, p);
  p += keyBytes.length;
  frame[p++] = 0x20;
  p += frame.write(len, p, 'latin1');
  frame.set(flags, p);
  p += flags.length;
  frame.set(value, p);
  p += value.length;
  frame[p++] = 0x0d;
  frame[p] = 0x0a;
  return frame;
}

// ---- hot path: the chunk encoder writes headers straight into its output buffer ----

// A constant of this module, not an imported binding, so that TurboFan inlines it without a
// check per call (see pipeline/fast-line.ts).
const { writeDecimal } = decimal;

/** `ms <dev_type>:` per server index (DEVICE_TYPES order). */
export const KEY_PREFIXES: readonly Uint8Array[] = DEVICE_TYPES.map((t) => Buffer.from(`ms ${t}:`, 'latin1'));

/** Most bytes `writeMetaSetHeader` can write for an id of `idLen` bytes. */
export function metaSetHeaderMaxSize(type: number, idLen: number, flags: Uint8Array): number {
  // 10 digits cover any value length below 2^32.
  return KEY_PREFIXES[type].length + idLen + 1 + 10 + flags.length;
}

/**
 * Write `ms <dev_type>:<id> <valueLen><flags>` at `target[offset]`, the id copied from
 * `src[idStart, idEnd)`. The caller has already validated the key (record/parse-line.ts does)
 * and reserved `metaSetHeaderMaxSize` bytes. Returns the offset just past the header.
 */
export function writeMetaSetHeader(
  target: Uint8Array,
  offset: number,
  type: number,
  src: Uint8Array,
  idStart: number,
  idEnd: number,
  valueLen: number,
  flags: Uint8Array,
): number {
  const prefix = KEY_PREFIXES[type];
  for (let i = 0; i < prefix.length; i++) target[offset++] = prefix[i];
  // ids are ~32 bytes: a byte loop beats the call overhead of set(subarray) (which allocates).
  for (let i = idStart; i < idEnd; i++) target[offset++] = src[i];
  target[offset++] = 0x20;
  offset = writeDecimal(target, offset, valueLen);
  for (let i = 0; i < flags.length; i++) target[offset++] = flags[i];
  return offset;
}
