/**
 * Decimal numbers as ASCII bytes, read and written, without building strings: the line parser
 * reads lat/lon with `scanDecimal`, the fast path (pipeline/fast-line.ts) divides by `POW10`, and
 * every integer that goes out as text (a frame's value length, a ttl, an app id in `--dry`) is
 * written by `writeDecimal`. One file so that "what Number() would give" is decided in one place.
 */

// Powers of ten that are exact doubles: m / 10^k and m * 10^k with m < 2^53 and k <= 22 are a
// single correctly rounded operation, so they equal what Number() gives (Clinger's fast path).
export const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const TWO_53 = 9007199254740992;
const SPACE = 0x20;

/** scanDecimal's second result, where it stopped: beside the return value, so nothing is allocated. */
export const decimalScan = { end: 0 };

/**
 * Parse `buf[s, e)` as `^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$` after trimming spaces.
 * Returns NaN when the text does not match or the value is not finite.
 */
export function parseDecimal(buf: Uint8Array, s: number, e: number): number {
  const v = scanDecimal(buf, s, e);
  return decimalScan.end === e ? v : NaN;
}

/**
 * Read a decimal number (with surrounding spaces) from `buf[s]`, stopping at the first byte that
 * cannot continue it or at `e`; `decimalScan.end` is set to that position. The caller decides
 * whether what follows is an acceptable terminator. Returns NaN if no number was read or it is
 * not finite.
 */
export function scanDecimal(buf: Uint8Array, s: number, e: number): number {
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
  decimalScan.end = s;
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

/**
 * Write the decimal digits of `v`, a non-negative integer below 2^53, at `target[offset]`.
 * Returns the offset just past them.
 */
export function writeDecimal(target: Uint8Array, offset: number, v: number): number {
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  let p = offset + digits;
  const end = p;
  do {
    target[--p] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  return end;
}

/**
 * `-?digits[.digits]` with 1..15 digits in all, read from `input[i]`; `decimalScan.end` is set
 * to where it stopped. NaN when the text is not of that shape; the caller checks what follows.
 * Below 2^53 and 10^15, `m / 10^f` is one correctly rounded division, which is what Number() and
 * the general parser give. It is the fast path's (pipeline/fast-line.ts): that path declines what
 * this does not take, and the general path decides.
 */
export function scanCoordinate(input: Uint8Array, i: number): number {
  let negative = false;
  if (input[i] === 0x2d) {
    negative = true;
    i++;
  }
  let m = 0;
  const first = i;
  let d = 0;
  while ((d = input[i] - 0x30) >>> 0 <= 9) {
    m = m * 10 + d;
    i++;
  }
  let digits = i - first;
  let fraction = 0;
  if (input[i] === 0x2e) {
    i++;
    const fracStart = i;
    while ((d = input[i] - 0x30) >>> 0 <= 9) {
      m = m * 10 + d;
      i++;
    }
    fraction = i - fracStart;
    digits += fraction;
  }
  decimalScan.end = i;
  if (digits === 0 || digits > 15) return NaN;
  const v = m / POW10[fraction];
  return negative ? -v : v;
}
