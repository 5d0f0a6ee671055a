/**
 * The fast path of the chunk encoder: one pass over a *clean* line that parses it and writes its
 * whole quiet meta set at once, for the default encoding (unpacked apps, not --dry).
 *
 * A clean line is what the tracker writes nearly always:
 *
 *   <idfa|gaid|adid|dvid> \t <id: 1..MAX_DEV_ID_BYTES (245) key bytes> \t <-?digits[.digits]> \t <same> \t <d+(,d+)*|nothing> \n
 *
 * with at most 15 digits in each coordinate and 9 in each app id. Anything else (spaces, `\r`,
 * an exponent, an empty or long app id, a sixth field, a line longer than FAST_MAX_LINE) makes
 * `encodeCleanLine` return -1 and write nothing that counts; the caller then gives the line to
 * the general parser (record/parse-line.ts), which decides every case SPEC.md names. So the fast
 * path never judges a line, it only declines it, and for the lines it takes it must produce the
 * very bytes the general path would: test/unit/pipeline/fast-line.test.ts checks that on
 * generated and mutated lines.
 *
 * Why it is faster (bench/micro/parse-encode.bench.ts): no Buffer#indexOf call per line (the
 * apps loop finds the newline), app ids are accumulated in int32 and written as varints as soon
 * as they are read (no array in between), doubles go through a DataView, and the value is
 * written before its length is known, in the place a 3-digit length leaves for it (most values
 * are 100..999 bytes); any other length moves the value once.
 */
import * as encode from '../memcached/encode.js';
import { USER_APPS_LAYOUT } from '../proto/user-apps.js';
import * as decimal from '../record/decimal.js';
import * as key from '../record/key.js';

const TAB = 0x09;
const LF = 0x0a;
const COMMA = 0x2c;

// What the hot loops use of other modules, as constants of this one. TurboFan folds a module's
// own constants into the code, but reads an imported binding through its cell at every use (and
// an exported one, even in its own module): the apps tag read from an import cost ~7% of this
// path's instructions (bench:instructions), the key-byte test ~3%.
const { KEY_PREFIXES } = encode;
const { decimalScan, scanCoordinate } = decimal;
const { TAG_APPS_VARINT, TAG_LAT, TAG_LON, GEO_BYTES } = USER_APPS_LAYOUT;
const { isKeyByte, typeAt, MAX_DEV_ID_BYTES, TYPE_BYTES } = key;

/** Longest line the fast path takes; longer ones go to the general path. */
export const FAST_MAX_LINE = 64 * 1024;
/**
 * Bytes a caller must have free in `out` (besides the flags): a clean line's frame is at most
 * its line plus the `ms ` prefix, the length and the `\r\n`s; the id's MAX_DEV_ID_BYTES bound the
 * rest.
 */
export const FAST_OUT_ROOM = FAST_MAX_LINE + 512;
// `ms ` and the byte after the type, `:`, as parts of little-endian words (checked at load
// against KEY_PREFIXES, which the general path writes).
const MS_SPACE = 0x20736d;
const COLON_HIGH = 0x3a000000;
const PREFIX_BYTES = 8;
for (const prefix of KEY_PREFIXES) {
  if (prefix.length !== PREFIX_BYTES || prefix[0] !== 0x6d || prefix[1] !== 0x73 || prefix[2] !== 0x20 || prefix[7] !== 0x3a) {
    throw new Error('fast-line: KEY_PREFIXES are not `ms <4-byte type>:`');
  }
}
/** Digits the value's length is assumed to have when the value is placed. */
const LEN_DIGITS = 3;


/** Where the last frame written ends: a result beside the return value, so nothing is allocated. */
export const fastResult = { end: 0 };


/**
 * Encode the line starting at `input[start]` (`inView`: a DataView over exactly `input`'s bytes),
 * whose device type `peekType` found, into `out` at `p`, if it is clean. `input` must hold a `\n` at or after `start + 4` (the caller
 * only calls for lines before the chunk's last newline), `out` must have FAST_OUT_ROOM +
 * flags.length bytes free after `p`, and `view` is a DataView over `out`; lines longer than
 * `maxLine` (at most FAST_MAX_LINE) bytes before their newline are declined. Returns the position
 * after the line's `\n`, with the frame's end in `fastResult.end`; or -1, having written nothing
 * the caller keeps.
 */
export function encodeCleanLine(
  input: Buffer,
  inView: DataView,
  start: number,
  out: Uint8Array,
  view: DataView,
  p: number,
  flags: Uint8Array,
  maxLine: number,
): number {
  // `ms <type>:` in two word stores: the type's four bytes are the line's first four (peekType
  // matched them), so no prefix table is read.
  const typeWord = inView.getInt32(start, true);
  view.setInt32(p, MS_SPACE | (typeWord << 24), true);
  view.setInt32(p + 4, (typeWord >>> 8) | COLON_HIGH, true);
  p += PREFIX_BYTES;

  // dev_id: key bytes up to the tab (a control byte or space stops it; only a tab is good).
  // Copying stops one byte past the longest id, so a hostile line cannot write past the room.
  let i = start + TYPE_BYTES + 1;
  const idStart = i;
  const idStop = idStart + MAX_DEV_ID_BYTES + 1;
  // Four bytes at a time while none of them ends the id: one load, test and store per word where
  // the byte loop pays its checks per byte. A word holds a byte below 0x21 when
  // (w - 0x21212121) & ~w has that byte's top bit set (bytes of 0x80 and up are key bytes, and
  // ~w masks them), and a 0x7f when w ^ 0x7f7f7f7f holds a zero byte. The word before the end of
  // the input, or at the copy's stop, is left to the byte loop.
  const wordStop = (idStop < inView.byteLength ? idStop : inView.byteLength) - 4;
  while (i <= wordStop) {
    const w = inView.getInt32(i, true);
    const x = w ^ 0x7f7f7f7f;
    if (((((w - 0x21212121) | 0) & ~w) | (((x - 0x01010101) | 0) & ~x)) & 0x80808080) break;
    view.setInt32(p, w, true);
    p += 4;
    i += 4;
  }
  let c = input[i];
  while (isKeyByte(c) && i < idStop) {
    out[p++] = c;
    c = input[++i];
  }
  const idLen = i - idStart;
  if (c !== TAB || idLen === 0 || idLen > MAX_DEV_ID_BYTES) return -1;

  // `x !== x` is the NaN test, without a call in the hot path.
  const lat = scanCoordinate(input, i + 1);
  if (input[decimalScan.end] !== TAB || lat !== lat) return -1;
  const lon = scanCoordinate(input, decimalScan.end + 1);
  i = decimalScan.end;
  if (input[i] !== TAB || lon !== lon) return -1;
  i++;

  // The value goes where a 3-digit length would leave it: ` NNN` then the flags.
  const headerEnd = p + 1 + LEN_DIGITS + flags.length;
  let q = headerEnd;
  const limit = start + maxLine;
  if (input[i] !== LF) {
    // Per app id: its digits, then the byte after them minus '0' stays in `d` (a comma or the
    // newline), so the byte is read once.
    let d = 0;
    let v = 0;
    let idFirst = 0;
    let w = 0;
    const wordEnd = inView.byteLength - 4;
    for (;;) {
      // `(d >>> 0) > 9` is one unsigned compare for "not a digit" (a byte below '0' wraps round).
      // A read past the end would give NaN, which `>>> 0` makes 0, a digit: these loops end at
      // the newline the caller guarantees, as scanCoordinate's do.
      // Four digits and a non-digit, the commonest id (ids below 10,000 are ~90% of a real
      // line's): one word load for the four, tested and converted as a word (SWAR). A byte
      // 0x30..0x39 is the only one whose high nibble is 3 both as is and plus 6 (a carry into a
      // byte comes only from a non-digit below it); `x * 10 + (x >>> 8)` pairs the digits into
      // two bytes (d0d1, d2d3). Shorter and longer ids go the byte way below: a general 1-4
      // digit word path (a mask, clz32 and a shift) cost more than it saved (6,963 instructions
      // per line against 6,871 without it, and 5% more time).
      if (
        i <= wordEnd &&
        (((w = inView.getInt32(i, true)) & 0xf0f0f0f0) | (((w + 0x06060606) & 0xf0f0f0f0) >>> 4)) === 0x33333333 &&
        (d = input[i + 4] - 0x30) >>> 0 > 9
      ) {
        w -= 0x30303030;
        w = w * 10 + (w >>> 8);
        v = (w & 0xff) * 100 + ((w >>> 16) & 0xff);
        i += 4;
        if (v >= 0x80) {
          view.setUint32(q, TAG_APPS_VARINT | (((v & 0x7f) | 0x80) << 8) | ((v >>> 7) << 16), true);
          q += 3;
        } else {
          // Leading zeros (`0042`).
          view.setUint16(q, TAG_APPS_VARINT | (v << 8), true);
          q += 2;
        }
      } else {
        v = input[i] - 0x30;
        // An empty id is dropped with a warning and a 10-digit one may be too big: the general path's.
        if (v >>> 0 > 9) return -1;
        // The first four digits are read straight, not in a loop: TurboFan checks the input's map
        // and reloads its data pointer at every turn of a loop (~18 instructions a byte), once in
        // straight code. Each length writes its own varint: up to two digits it is one byte, up to
        // four at most two (9999 < 2^14), so those branches skip the tests they cannot need. The
        // tag and the varint go out in one little-endian store (its bytes past the varint are
        // overwritten by what follows: the room allows it).
        if ((d = input[i + 1] - 0x30) >>> 0 > 9) {
          view.setUint16(q, TAG_APPS_VARINT | (v << 8), true);
          q += 2;
          i += 1;
        } else if (((v = v * 10 + d), (d = input[i + 2] - 0x30) >>> 0 > 9)) {
          view.setUint16(q, TAG_APPS_VARINT | (v << 8), true);
          q += 2;
          i += 2;
        } else {
          v = v * 10 + d;
          if ((d = input[i + 3] - 0x30) >>> 0 > 9) i += 3;
          else if (((v = v * 10 + d), (d = input[i + 4] - 0x30) >>> 0 > 9)) i += 4;
          else {
            idFirst = i;
            v = v * 10 + d;
            i += 4;
            while ((d = input[++i] - 0x30) >>> 0 <= 9) v = (v * 10 + d) | 0;
            if (i - idFirst > 9) return -1;
          }
          if (v < 0x80) {
            view.setUint16(q, TAG_APPS_VARINT | (v << 8), true);
            q += 2;
          } else if (v < 0x4000) {
            view.setUint32(q, TAG_APPS_VARINT | (((v & 0x7f) | 0x80) << 8) | ((v >>> 7) << 16), true);
            q += 3;
          } else {
            out[q++] = TAG_APPS_VARINT;
            while (v >= 0x80) {
              out[q++] = (v & 0x7f) | 0x80;
              v >>>= 7;
            }
            out[q++] = v;
          }
        }
      }
      if (d !== COMMA - 0x30) break;
      i++;
      // The same again for the next id, written out: two ids a turn halve the loop's reloads of
      // `input` (8,062 -> 7,432 instructions per line). As a function TurboFan did not inline it
      // (12,485), so the copy is the price; change both halves together.
      // Four digits and a non-digit, the commonest id (ids below 10,000 are ~90% of a real
      // line's): one word load for the four, tested and converted as a word (SWAR). A byte
      // 0x30..0x39 is the only one whose high nibble is 3 both as is and plus 6 (a carry into a
      // byte comes only from a non-digit below it); `x * 10 + (x >>> 8)` pairs the digits into
      // two bytes (d0d1, d2d3). Shorter and longer ids go the byte way below: a general 1-4
      // digit word path (a mask, clz32 and a shift) cost more than it saved (6,963 instructions
      // per line against 6,871 without it, and 5% more time).
      if (
        i <= wordEnd &&
        (((w = inView.getInt32(i, true)) & 0xf0f0f0f0) | (((w + 0x06060606) & 0xf0f0f0f0) >>> 4)) === 0x33333333 &&
        (d = input[i + 4] - 0x30) >>> 0 > 9
      ) {
        w -= 0x30303030;
        w = w * 10 + (w >>> 8);
        v = (w & 0xff) * 100 + ((w >>> 16) & 0xff);
        i += 4;
        if (v >= 0x80) {
          view.setUint32(q, TAG_APPS_VARINT | (((v & 0x7f) | 0x80) << 8) | ((v >>> 7) << 16), true);
          q += 3;
        } else {
          // Leading zeros (`0042`).
          view.setUint16(q, TAG_APPS_VARINT | (v << 8), true);
          q += 2;
        }
      } else {
        v = input[i] - 0x30;
        if (v >>> 0 > 9) return -1;
        if ((d = input[i + 1] - 0x30) >>> 0 > 9) {
          view.setUint16(q, TAG_APPS_VARINT | (v << 8), true);
          q += 2;
          i += 1;
        } else if (((v = v * 10 + d), (d = input[i + 2] - 0x30) >>> 0 > 9)) {
          view.setUint16(q, TAG_APPS_VARINT | (v << 8), true);
          q += 2;
          i += 2;
        } else {
          v = v * 10 + d;
          if ((d = input[i + 3] - 0x30) >>> 0 > 9) i += 3;
          else if (((v = v * 10 + d), (d = input[i + 4] - 0x30) >>> 0 > 9)) i += 4;
          else {
            idFirst = i;
            v = v * 10 + d;
            i += 4;
            while ((d = input[++i] - 0x30) >>> 0 <= 9) v = (v * 10 + d) | 0;
            if (i - idFirst > 9) return -1;
          }
          if (v < 0x80) {
            view.setUint16(q, TAG_APPS_VARINT | (v << 8), true);
            q += 2;
          } else if (v < 0x4000) {
            view.setUint32(q, TAG_APPS_VARINT | (((v & 0x7f) | 0x80) << 8) | ((v >>> 7) << 16), true);
            q += 3;
          } else {
            out[q++] = TAG_APPS_VARINT;
            while (v >= 0x80) {
              out[q++] = (v & 0x7f) | 0x80;
              v >>>= 7;
            }
            out[q++] = v;
          }
        }
      }
      if (d !== COMMA - 0x30) break;
      i++;
      if (i > limit) return -1;
    }
    if (d !== LF - 0x30) return -1;
  }
  if (i > limit) return -1;
  out[q] = TAG_LAT;
  view.setFloat64(q + 1, lat, true);
  out[q + 9] = TAG_LON;
  view.setFloat64(q + 10, lon, true);
  q += GEO_BYTES;

  const valueLen = q - headerEnd;
  const lenDigits = valueLen < 100 ? 2 : valueLen < 1000 ? 3 : valueLen < 10000 ? 4 : 5;
  if (lenDigits !== LEN_DIGITS) {
    const shift = lenDigits - LEN_DIGITS;
    out.copyWithin(headerEnd + shift, headerEnd, q);
    q += shift;
  }
  if (lenDigits === LEN_DIGITS) {
    // ` NNN` in one word store.
    const hundreds = (valueLen / 100) | 0;
    const rest = valueLen - hundreds * 100;
    const tens = (rest / 10) | 0;
    view.setInt32(p, 0x30303020 | (hundreds << 8) | (tens << 16) | ((rest - tens * 10) << 24), true);
    p += 1 + LEN_DIGITS;
  } else {
    out[p++] = 0x20;
    let rest = valueLen;
    for (let k = p + lenDigits - 1; k >= p; k--) {
      out[k] = 0x30 + (rest % 10);
      rest = (rest / 10) | 0;
    }
    p += lenDigits;
  }
  // The flags are the same for every line of a run: as one word when they are four bytes (` q\r\n`).
  if (flags !== lastFlags) rememberFlags(flags);
  if (flagsWord4) view.setInt32(p, flagsWord, true);
  else for (let k = 0; k < flags.length; k++) out[p + k] = flags[k];
  out[q++] = 0x0d;
  out[q++] = 0x0a;
  fastResult.end = q;
  return i + 1;
}

// The flags last seen, and as a little-endian word when they are four bytes long.
let lastFlags: Uint8Array | null = null;
let flagsWord = 0;
let flagsWord4 = false;

function rememberFlags(flags: Uint8Array): void {
  lastFlags = flags;
  flagsWord4 = flags.length === 4;
  flagsWord = flagsWord4 ? flags[0] | (flags[1] << 8) | (flags[2] << 16) | (flags[3] << 24) : 0;
}

/**
 * The server index of the line at `input[start]` when it starts with a device type and a tab,
 * else -1. `input` must hold at least 5 bytes from `start` (a newline comes later).
 */
export function peekType(input: Buffer, start: number): number {
  if (input[start + TYPE_BYTES] !== TAB) return -1;
  return typeAt(input, start);
}
