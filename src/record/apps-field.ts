/**
 * The fifth field of a line, `d+(,d+)*`, read into a ParsedLine's app list (AppsTarget). Apart from the line
 * parser (parse-line.ts) because it is a loop of its own, the one that runs per app id rather
 * than per line (a line has ~50 of them), tuned as such; and because it also proves that there is
 * no sixth field, so the apps bytes are read once (SPEC.md "A line").
 */
import * as proto from '../proto/user-apps.js';

// A constant of this module, not an imported binding, so that TurboFan inlines it without a
// check per id (see pipeline/fast-line.ts).
const { varintSize } = proto;

/**
 * Where the app ids go: the fields of parse-line.ts's ParsedLine that this module fills. Named
 * here, not imported from there, so that the line parser depends on this module and not the
 * other way round.
 */
export interface AppsTarget {
  /** Grown (replaced) when a line has more ids than it holds. */
  apps: Uint32Array;
  appCount: number;
  appsVarintBytes: number;
  droppedApps: boolean;
}

const TAB = 0x09;
const SPACE = 0x20;
const COMMA = 0x2c;

/**
 * Parse the comma-separated app ids of `buf[s, e)` into `out.apps`. Returns false on a tab (the
 * line has more than five fields). Ids are trimmed of spaces; an id that is empty, not all digits
 * or above 2^32-1 is dropped and flags the line. A field of zero bytes means no apps, no warning.
 */
export function parseApps(buf: Uint8Array, s: number, e: number, out: AppsTarget): boolean {
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
      varintBytes += varintSize(value);
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
