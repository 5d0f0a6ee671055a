/**
 * One TSV line → a record or a rejection reason (SPEC.md "A line"), straight from bytes.
 *
 * This runs once per input line (~3.4 M per file), so it works on byte ranges of the chunk and
 * writes into a caller-owned `ParsedLine`: parsing a good line allocates nothing. The only string
 * ever built is for a lat/lon that the exact fast path below cannot handle.
 *
 * The checks run in the SPEC's order and the first that applies wins, but the work is not done in
 * that order: the apps field is parsed in the same pass that proves there is no fifth tab, so its
 * bytes are read once.
 */
import { DEVICE_TYPES, type DeviceType } from '../config/servers.js';
import type { RejectReason } from './reasons.js';

/** Reasons a line itself can be rejected for (`too_large` comes from memcached, not the line). */
export type LineRejectReason = Exclude<RejectReason, 'too_large'>;
export type ParseStatus = 'ok' | 'blank' | LineRejectReason;

/** memcached's limit on key length (protocol.txt, "Keys"). */
export const MAX_KEY_BYTES = 250;
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const TAB = 0x09;
const SPACE = 0x20;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/** Reusable parse target. Fields are only meaningful after `parseLine` returned `'ok'`. */
export class ParsedLine {
  /** Index into DEVICE_TYPES, which is also the server index. */
  type = 0;
  /** dev_id is `buf[idStart, idEnd)` of the buffer that was parsed. */
  idStart = 0;
  idEnd = 0;
  lat = 0;
  lon = 0;
  /** App ids in line order; only the first `appCount` are this line's. Grows as needed. */
  apps: Uint32Array;
  appCount = 0;
  /**
   * Sum of the apps' protobuf varint sizes. The frame header needs the value's length before the
   * value is written; a second pass over `apps` to sum it took ~7% of the encode profile, while
   * here each id is already in a register.
   */
  appsVarintBytes = 0;
  /** At least one app id was dropped (not all digits, or above 2^32-1): a warning, not a reject. */
  droppedApps = false;

  constructor(capacity = 128) {
    this.apps = new Uint32Array(Math.max(1, capacity));
  }
}

// dev_type is matched as one 32-bit little-endian word (every device type is 4 ASCII bytes), so
// no string is built for it and each candidate costs one compare.
export const TYPE_WORDS: readonly number[] = DEVICE_TYPES.map((t) => {
  if (t.length !== 4) throw new Error(`device type ${t} must be 4 bytes`);
  return (t.charCodeAt(0) | (t.charCodeAt(1) << 8) | (t.charCodeAt(2) << 16) | (t.charCodeAt(3) << 24)) >>> 0;
});

/** Space, \t, \n, \v, \f, \r. */
function isWhitespace(c: number): boolean {
  return c === SPACE || (c >= 0x09 && c <= 0x0d);
}

/**
 * Parse `buf[start, end)`, where `end` is the position of the line's `\n` (or the end of the
 * input). Trailing `\r`/`\n` bytes inside the range are stripped first. `maxLineBytes` applies to
 * the bytes before the newline, `\r` included, which is what a streaming splitter can count.
 */
export function parseLine(
  buf: Uint8Array,
  start: number,
  end: number,
  maxLineBytes: number,
  out: ParsedLine,
): ParseStatus {
  const rawLength = end - start;
  while (end > start && (buf[end - 1] === CR || buf[end - 1] === LF)) end--;

  let p = start;
  while (p < end && isWhitespace(buf[p])) p++;
  if (p === end) return 'blank';
  if (rawLength > maxLineBytes) return 'too_long';

  // One pass finds the four tabs and reads every field on the way; the verdicts are then given
  // in the SPEC's order, so e.g. a 6-field line with a bad lat is `fields`, not `geo`.
  p = start;
  while (p < end && buf[p] !== TAB) p++;
  const t1 = p++;
  let idBad = false;
  while (p < end) {
    const c = buf[p];
    if (c <= SPACE || c === 0x7f) {
      if (c === TAB) break;
      idBad = true;
    }
    p++;
  }
  const t2 = p++;
  let lat = scanDecimal(buf, p, end);
  p = skipToTab(buf, decimalEnd, end);
  if (p !== decimalEnd) lat = NaN;
  p++; // past the tab before lon
  let lon = scanDecimal(buf, p, end);
  p = skipToTab(buf, decimalEnd, end);
  if (p !== decimalEnd) lon = NaN;
  const t4 = p;
  if (t4 >= end) return 'fields';

  if (!parseApps(buf, t4 + 1, end, out)) return 'fields';

  const typeLen = t1 - start;
  const idLen = t2 - t1 - 1;
  if (typeLen === 0 || idLen === 0) return 'empty';

  if (typeLen !== 4) return 'type';
  const word = (buf[start] | (buf[start + 1] << 8) | (buf[start + 2] << 16) | (buf[start + 3] << 24)) >>> 0;
  let type = 0;
  while (type < TYPE_WORDS.length && TYPE_WORDS[type] !== word) type++;
  if (type === TYPE_WORDS.length) return 'type';

  if (idBad || typeLen + 1 + idLen > MAX_KEY_BYTES) return 'key';

  if (Number.isNaN(lat) || Number.isNaN(lon)) return 'geo';

  out.type = type;
  out.idStart = t1 + 1;
  out.idEnd = t2;
  out.lat = lat;
  out.lon = lon;
  return 'ok';
}

/**
 * Parse the comma-separated app ids of `buf[s, e)` into `out.apps`. Returns false on a tab (the
 * line has more than five fields). Ids are trimmed of spaces; an id that is empty, not all digits
 * or above 2^32-1 is dropped and flags the line. A field of zero bytes means no apps, no warning.
 */
function parseApps(buf: Uint8Array, s: number, e: number, out: ParsedLine): boolean {
  let apps = out.apps;
  let count = 0;
  let varintBytes = 0;
  let dropped = false;
  let i = s;
  // A zero-byte field is "no apps"; anything else holds at least one (maybe empty) id.
  let more = s < e;
  // When a non-digit follows the field (the stripped CR/LF or the newline), it stops the digit
  // loop by itself, so that loop can skip its bounds test (~10% of encodeChunk's time); only a
  // chunk's unterminated last line lacks one.
  const guarded = e < buf.length && (buf[e] < 0x30 || buf[e] > 0x39);
  while (more) {
    const idStart = i;
    // Fast path, taken by every id of a clean line: digits, then a comma or the end.
    let value = 0;
    if (guarded) {
      // Int32 arithmetic (a 2-cycle multiply-add chain instead of a float one); it cannot wrap
      // below 10 digits, and longer ids are re-read as doubles below.
      for (;;) {
        const d = buf[i] - 0x30;
        if (d < 0 || d > 9) break;
        value = (value * 10 + d) | 0;
        i++;
      }
      if (i - idStart > 9) value = digitsValue(buf, idStart, i);
    } else {
      while (i < e) {
        const d = buf[i] - 0x30;
        if (d < 0 || d > 9) break;
        value = value * 10 + d;
        i++;
      }
    }
    let digits = i - idStart;
    if (i < e && buf[i] !== COMMA) {
      i = parseOddId(buf, idStart, e);
      if (i < 0) return false;
      value = oddIdValue;
      digits = 1;
    }
    if (digits > 0 && value <= 4294967295) {
      if (count === apps.length) {
        const grown = new Uint32Array(apps.length * 2);
        grown.set(apps);
        apps = out.apps = grown;
      }
      apps[count++] = value;
      varintBytes += value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
    } else {
      dropped = true;
    }
    more = i < e;
    i++; // past the comma
  }
  out.appCount = count;
  out.appsVarintBytes = varintBytes;
  out.droppedApps = dropped;
  return true;
}

/** `buf[s, e)`, all digits, as a double: exact below 2^53, and past 2^32-1 only needs to stay "too big". */
function digitsValue(buf: Uint8Array, s: number, e: number): number {
  let value = 0;
  for (let i = s; i < e; i++) value = value * 10 + (buf[i] - 0x30);
  return value;
}

// parseOddId's second result; a module variable so the slow path allocates nothing either.
let oddIdValue = 0;

/**
 * The rare id that is not plain digits: spaces to trim, a stray byte, or a tab (more than five
 * fields). Returns the position of the comma or end that closes it, or -1 on a tab; sets
 * `oddIdValue` to the id, or NaN when it must be dropped.
 */
function parseOddId(buf: Uint8Array, i: number, e: number): number {
  let value = 0;
  let digits = 0;
  let bad = false;
  while (i < e && buf[i] === SPACE) i++;
  while (i < e) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    value = value * 10 + d;
    digits++;
    i++;
  }
  while (i < e && buf[i] === SPACE) i++;
  for (; i < e; i++) {
    const c = buf[i];
    if (c === COMMA) break;
    if (c === TAB) return -1;
    bad = true;
  }
  oddIdValue = bad || digits === 0 ? NaN : value;
  return i;
}

// Powers of ten that are exact doubles: m / 10^k and m * 10^k with m < 2^53 and k <= 22 are a
// single correctly rounded operation, so they equal what Number() gives (Clinger's fast path).
export const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const TWO_53 = 9007199254740992;

function skipToTab(buf: Uint8Array, p: number, end: number): number {
  while (p < end && buf[p] !== TAB) p++;
  return p;
}

/**
 * Parse `buf[s, e)` as `^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$` after trimming spaces.
 * Returns NaN when the text does not match or the value is not finite.
 */
export function parseDecimal(buf: Uint8Array, s: number, e: number): number {
  const v = scanDecimal(buf, s, e);
  return decimalEnd === e ? v : NaN;
}

// scanDecimal's second result: where it stopped. Module state so the hot path allocates nothing.
let decimalEnd = 0;

/**
 * Read a decimal number (with surrounding spaces) from `buf[s]`, stopping at the first byte that
 * cannot continue it or at `e`; `decimalEnd` is set to that position. The caller decides whether
 * what follows is an acceptable terminator. Returns NaN if no number was read or it is not finite.
 */
function scanDecimal(buf: Uint8Array, s: number, e: number): number {
  while (s < e && buf[s] === SPACE) s++;
  const textStart = s;
  let negative = false;
  if (s < e && (buf[s] === 0x2b || buf[s] === 0x2d)) {
    negative = buf[s] === 0x2d;
    s++;
  }
  let mantissa = 0;
  let mantissaDigits = 0;
  let fractionDigits = 0;
  let d = 0;
  while (s < e && (d = buf[s] - 0x30) >= 0 && d <= 9) {
    mantissa = mantissa * 10 + d;
    mantissaDigits++;
    s++;
  }
  if (s < e && buf[s] === 0x2e) {
    s++;
    while (s < e && (d = buf[s] - 0x30) >= 0 && d <= 9) {
      mantissa = mantissa * 10 + d;
      mantissaDigits++;
      fractionDigits++;
      s++;
    }
  }
  let exponent = 0;
  let valid = mantissaDigits > 0;
  if (s < e && (buf[s] === 0x65 || buf[s] === 0x45)) {
    s++;
    let expNegative = false;
    if (s < e && (buf[s] === 0x2b || buf[s] === 0x2d)) {
      expNegative = buf[s] === 0x2d;
      s++;
    }
    let expDigits = 0;
    while (s < e && (d = buf[s] - 0x30) >= 0 && d <= 9) {
      exponent = exponent * 10 + d;
      expDigits++;
      s++;
    }
    if (expDigits === 0) valid = false;
    if (expNegative) exponent = -exponent;
  }
  const textEnd = s;
  while (s < e && buf[s] === SPACE) s++;
  decimalEnd = s;
  if (!valid) return NaN;

  let value: number;
  const k = exponent - fractionDigits;
  if (mantissa === 0) {
    value = 0;
  } else if (mantissa < TWO_53 && k >= -22 && k <= 22) {
    value = k < 0 ? mantissa / POW10[-k] : mantissa * POW10[k];
  } else {
    // Rare (more than 15 significant digits or a large exponent): let the engine round it.
    return finiteOrNaN(Number(latin1(buf, textStart, textEnd)));
  }
  return negative ? -value : value;
}

function finiteOrNaN(v: number): number {
  return Number.isFinite(v) ? v : NaN;
}

function latin1(buf: Uint8Array, s: number, e: number): string {
  let text = '';
  for (let i = s; i < e; i++) text += String.fromCharCode(buf[i]);
  return text;
}

/** A parsed line as plain data, for tests, the self-test and error messages. */
export interface LineRecord {
  readonly type: DeviceType;
  readonly devId: string;
  readonly key: string;
  readonly lat: number;
  readonly lon: number;
  readonly apps: readonly number[];
  readonly droppedApps: boolean;
}

/** Convenience wrapper over `parseLine` for one line given as a string (UTF-8 encoded). */
export function parseLineString(
  line: string,
  maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
): LineRecord | 'blank' | LineRejectReason {
  const buf = Buffer.from(line, 'utf8');
  const end = buf.length > 0 && buf[buf.length - 1] === LF ? buf.length - 1 : buf.length;
  const out = new ParsedLine();
  const status = parseLine(buf, 0, end, maxLineBytes, out);
  if (status !== 'ok') return status;
  const type = DEVICE_TYPES[out.type];
  const devId = buf.toString('utf8', out.idStart, out.idEnd);
  return {
    type,
    devId,
    key: `${type}:${devId}`,
    lat: out.lat,
    lon: out.lon,
    apps: Array.from(out.apps.subarray(0, out.appCount)),
    droppedApps: out.droppedApps,
  };
}
