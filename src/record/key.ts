/**
 * The memcached key rule, in the one place it is written (protocol.txt, "Keys"): at most 250
 * bytes, none of them a space, a control byte or DEL. A key with such a byte, or a longer one,
 * draws CLIENT_ERROR, and memcached then reads our value line as a command, which throws every
 * later reply out of step. Our keys are `dev_type:dev_id`.
 *
 * Three places apply the rule: the line parser (record/parse-line.ts) rejects a line whose key
 * breaks it, the frame encoder (memcached/encode.ts) refuses such a key, and the fast path
 * (pipeline/fast-line.ts) declines the line. Pure, so it runs in the workers too; the hot loops
 * call `isKeyByte`, which V8 inlines.
 */
import { DEVICE_TYPES } from '../config/servers.js';

/** memcached's limit on key length. */
export const MAX_KEY_BYTES = 250;

/** Every device type is this long: TYPE_WORDS reads one as a 32-bit word. */
export const TYPE_BYTES = 4;

/** The longest dev_id whose key `dev_type:dev_id` is still a valid key. */
export const MAX_DEV_ID_BYTES = MAX_KEY_BYTES - TYPE_BYTES - 1;

/** True for a byte a key may hold: above space, and not DEL. */
export function isKeyByte(c: number): boolean {
  return c > 0x20 && c !== 0x7f;
}

/** True when `key` can be sent as a memcached text-protocol key. */
export function isValidKey(key: Uint8Array): boolean {
  if (key.length === 0 || key.length > MAX_KEY_BYTES) return false;
  for (let i = 0; i < key.length; i++) if (!isKeyByte(key[i])) return false;
  return true;
}

// dev_type is matched as one 32-bit little-endian word, so no string is built for it and each
// candidate costs one compare.
const TYPE_WORDS: readonly number[] = DEVICE_TYPES.map((t) => {
  if (t.length !== TYPE_BYTES) throw new Error(`device type ${t} must be ${TYPE_BYTES} bytes`);
  return (t.charCodeAt(0) | (t.charCodeAt(1) << 8) | (t.charCodeAt(2) << 16) | (t.charCodeAt(3) << 24)) >>> 0;
});

/**
 * The index in DEVICE_TYPES (also the server index) of the device type that
 * `buf[start, start + TYPE_BYTES)` spells, or -1. The caller knows those bytes exist.
 */
export function typeAt(buf: Uint8Array, start: number): number {
  const word = (buf[start] | (buf[start + 1] << 8) | (buf[start + 2] << 16) | (buf[start + 3] << 24)) >>> 0;
  for (let t = 0; t < TYPE_WORDS.length; t++) if (TYPE_WORDS[t] === word) return t;
  return -1;
}
