/**
 * One log line of a given kind, written as bytes. SPEC.md "A line" and "Real files" define
 * the kinds; every malformed kind has several variants so the loader's checks are exercised
 * at their edges (leading/trailing bad bytes, NUL, `1e999`, a trailing tab…), not by one shape.
 */
import { DEVICE_TYPES } from '../config/servers.js';
import { MAX_KEY_BYTES } from '../record/key.js';
import type { RejectReason } from '../record/reasons.js';
import { ByteSink } from './byte-sink.js';
import { formatCoord, HEX_BYTES } from './format.js';
import { DevKey } from './keys.js';
import type { Rng } from './rng.js';

/** Rejected kinds; `too_large` is memcached's verdict, not something a line can carry. */
export type RejectKind = Exclude<RejectReason, 'too_large'>;
export const REJECT_KINDS = ['too_long', 'fields', 'empty', 'type', 'key', 'geo'] as const satisfies readonly RejectKind[];

/** `warn`: kept, but some app ids are dropped (a warning). `blank`: skipped, not counted. */
export type LineKind = 'valid' | 'warn' | 'blank' | RejectKind;
export const LINE_KINDS = ['valid', 'warn', 'blank', ...REJECT_KINDS] as const satisfies readonly LineKind[];

/** Kinds whose line carries a well-formed key, so it can reuse one from the pool. */
export function kindHasKey(kind: LineKind): boolean {
  return kind === 'valid' || kind === 'warn' || kind === 'geo' || kind === 'fields' || kind === 'too_long';
}

/** Kinds the loader stores in memcached. */
export function kindIsLoaded(kind: LineKind): boolean {
  return kind === 'valid' || kind === 'warn';
}

export const APP_ID_LIMIT = 9999;
const MIN_APPS = 2;
const MAX_APPS = 100;
/** Longest line of any kind but too_long (a 400-byte bad key plus 100 apps), with margin. */
export const MAX_SHORT_LINE_BYTES = 2048;

const TAB = 0x09;
const SPACE = 0x20;
const COMMA = 0x2c;
const TYPE_NAMES = DEVICE_TYPES as readonly string[];

// A key with any of these bytes would break memcached's text protocol. \t, \n and \r are left
// out: they would make the line a `fields` reject or split it, not test the key check.
const KEY_BAD_BYTES = [0x00, 0x01, 0x07, 0x0b, 0x0c, 0x1b, 0x1f, SPACE, 0x7f];
const UNKNOWN_TYPES = ['imei', 'oaid', 'IDFA', 'Gaid', 'mac', 'idf', 'idfa2', 'android_id'];
// Each fails `^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$` after trimming, or is not finite.
const BAD_COORDS = ['nan', 'NaN', 'inf', '-inf', 'Infinity', '1,5', '12x', '', ' ', '1.2.3', '--1', '.', 'e5', '0x1A', '1e999', '-1e400', '12 5'];
// Not all digits, or above 2^32-1: dropped with a warning, the line is kept.
const BAD_APPS = ['12a', 'x', '-5', '+7', '1.5', '0x1f', '4294967296', '99999999999', '1e3'];
const BLANKS = ['', '', '', ' ', '\t', '  \t '];

/** Right-aligned ASCII digits of every app id, 4 bytes each, and how many are significant. */
const APP_DIGITS = new Uint8Array(APP_ID_LIMIT * 4);
const APP_DIGIT_COUNT = new Uint8Array(APP_ID_LIMIT);
for (let id = 0; id < APP_ID_LIMIT; id++) {
  const s = String(id).padStart(4, '0');
  for (let j = 0; j < 4; j++) APP_DIGITS[id * 4 + j] = s.charCodeAt(j);
  APP_DIGIT_COUNT[id] = String(id).length;
}

/**
 * Draws a line's distinct app ids. Ids are checked against a stamp per id (not a Set) and
 * written from a table of their digits: ~50 ids a line make this the hottest loop.
 */
export class AppDraw {
  readonly #stamp = new Uint32Array(APP_ID_LIMIT);
  #line = 0;

  /** Writes 2–100 distinct ids, comma-separated, with `badCount` bad tokens among them. */
  write(out: ByteSink, rng: Rng, badCount: number): void {
    const line = ++this.#line;
    const stamp = this.#stamp;
    const n = rng.range(MIN_APPS, MAX_APPS);
    const total = n + badCount;
    let bad = badCount;
    let good = 0;
    const buf = out.buffer;
    let p = out.pos;
    for (let i = 0; i < total; i++) {
      if (i > 0) buf[p++] = COMMA;
      // Bad tokens go at uniformly random positions, first and last included.
      if (bad > 0 && (good === n || rng.int(total - i) < bad)) {
        const token = rng.pick(BAD_APPS);
        for (let j = 0; j < token.length; j++) buf[p++] = token.charCodeAt(j);
        bad--;
        continue;
      }
      let id: number;
      do id = rng.int(APP_ID_LIMIT);
      while (stamp[id] === line);
      stamp[id] = line;
      good++;
      const at = id * 4;
      const digits = APP_DIGIT_COUNT[id];
      if (digits === 4) buf[p++] = APP_DIGITS[at];
      if (digits >= 3) buf[p++] = APP_DIGITS[at + 1];
      if (digits >= 2) buf[p++] = APP_DIGITS[at + 2];
      buf[p++] = APP_DIGITS[at + 3];
    }
    out.pos = p;
  }
}

/**
 * Writes one line of `kind` and its line ending. `key` is used by kinds that carry a valid
 * key (see kindHasKey); the others make up their own broken one. Lines of kind `too_long`
 * need `maxLineBytes`, the loader limit they must exceed.
 */
export function writeLine(
  out: ByteSink,
  rng: Rng,
  kind: LineKind,
  key: DevKey,
  apps: AppDraw,
  eol: Uint8Array,
  maxLineBytes = 0,
): void {
  if (kind === 'too_long') return writeTooLong(out, rng, key, eol, maxLineBytes);
  out.ensure(MAX_SHORT_LINE_BYTES);
  switch (kind) {
    case 'valid':
    case 'warn':
      writeKey(out, key);
      writeCoords(out, rng);
      writeApps(out, rng, apps, kind === 'warn' ? rng.range(1, 3) : 0);
      break;
    case 'blank':
      out.ascii(rng.pick(BLANKS));
      break;
    case 'fields':
      writeFields(out, rng, key, apps);
      break;
    case 'empty': {
      // 0: no dev_type, 1: no dev_id, 2: neither.
      const v = rng.int(3);
      if (v === 1) out.ascii(TYPE_NAMES[rng.int(TYPE_NAMES.length)]);
      out.byte(TAB);
      if (v === 0) writeHexId(out, key.fresh(rng, TYPE_NAMES.length).id);
      out.byte(TAB);
      writeCoords(out, rng);
      writeApps(out, rng, apps, 0);
      break;
    }
    case 'type':
      out.ascii(rng.pick(UNKNOWN_TYPES));
      out.byte(TAB);
      writeHexId(out, key.fresh(rng, TYPE_NAMES.length).id);
      out.byte(TAB);
      writeCoords(out, rng);
      writeApps(out, rng, apps, 0);
      break;
    case 'key':
      writeBadKey(out, rng, key.fresh(rng, TYPE_NAMES.length));
      writeCoords(out, rng);
      writeApps(out, rng, apps, 0);
      break;
    case 'geo': {
      writeKey(out, key);
      const which = rng.int(3);
      out.ascii(which === 1 ? coord(rng) : rng.pick(BAD_COORDS));
      out.byte(TAB);
      out.ascii(which === 0 ? coord(rng) : rng.pick(BAD_COORDS));
      out.byte(TAB);
      writeApps(out, rng, apps, 0);
      break;
    }
  }
  out.bytes(eol);
}

/** One line as a string (latin1, no line ending), for tests and benchmarks. */
export function makeLine(rng: Rng, kind: LineKind = 'valid', maxLineBytes = 0): string {
  const sink = new ByteSink(MAX_SHORT_LINE_BYTES);
  writeLine(sink, rng, kind, new DevKey().fresh(rng, TYPE_NAMES.length), new AppDraw(), new Uint8Array(0), maxLineBytes);
  return Buffer.concat(sink.take()).toString('latin1');
}

function coord(rng: Rng): string {
  // Python's random.uniform(-180, 180), which the real data came from.
  return formatCoord(-180 + 360 * rng.float());
}

function writeCoords(out: ByteSink, rng: Rng): void {
  out.ascii(coord(rng));
  out.byte(TAB);
  out.ascii(coord(rng));
  out.byte(TAB);
}

function writeHexId(out: ByteSink, id: Uint32Array): void {
  for (let w = 0; w < 4; w++) {
    const v = id[w];
    for (let shift = 28; shift >= 0; shift -= 4) out.byte(HEX_BYTES[(v >>> shift) & 15]);
  }
}

/** `dev_type \t dev_id \t` */
function writeKey(out: ByteSink, key: DevKey): void {
  out.ascii(TYPE_NAMES[key.type]);
  out.byte(TAB);
  writeHexId(out, key.id);
  out.byte(TAB);
}

function writeApps(out: ByteSink, rng: Rng, apps: AppDraw, badCount: number): void {
  apps.write(out, rng, badCount);
}

function writeFields(out: ByteSink, rng: Rng, key: DevKey, apps: AppDraw): void {
  switch (rng.int(5)) {
    case 0: // apps field missing: 4 fields
      writeKey(out, key);
      out.ascii(coord(rng));
      out.byte(TAB);
      out.ascii(coord(rng));
      return;
    case 1: // one field too many, sometimes just a trailing tab
      writeKey(out, key);
      writeCoords(out, rng);
      writeApps(out, rng, apps, 0);
      out.byte(TAB);
      out.ascii(rng.pick(['', 'x', '42', 'extra field']));
      return;
    case 2: // lat missing: 4 fields
      writeKey(out, key);
      out.ascii(coord(rng));
      out.byte(TAB);
      writeApps(out, rng, apps, 0);
      return;
    case 3: // separated by spaces, not tabs: 1 field
      out.ascii(TYPE_NAMES[key.type]);
      out.byte(SPACE);
      writeHexId(out, key.id);
      out.byte(SPACE);
      out.ascii(coord(rng));
      out.byte(SPACE);
      out.ascii(coord(rng));
      out.byte(SPACE);
      writeApps(out, rng, apps, 0);
      return;
    default: // truncated after the id: 2 fields
      out.ascii(TYPE_NAMES[key.type]);
      out.byte(TAB);
      writeHexId(out, key.id);
  }
}

function writeBadKey(out: ByteSink, rng: Rng, key: DevKey): void {
  const type = TYPE_NAMES[key.type];
  out.ascii(type);
  out.byte(TAB);
  if (rng.int(3) === 0) {
    // Over memcached's key limit (`type:id`), from one byte over on.
    const idLen = MAX_KEY_BYTES + 1 + rng.int(150) - (type.length + 1);
    for (let i = 0; i < idLen; i++) out.byte(HEX_BYTES[rng.int(16)]);
  } else {
    // One bad byte anywhere in a normal id, ends included.
    const at = rng.int(33);
    const badByte = rng.pick(KEY_BAD_BYTES);
    const hex = new ByteSink(64);
    hex.ensure(32);
    writeHexId(hex, key.id);
    const id = Buffer.concat(hex.take());
    out.bytes(id.subarray(0, at));
    out.byte(badByte);
    out.bytes(id.subarray(at));
  }
  out.byte(TAB);
}

/** A line that looks valid but runs 1–64 bytes past the loader's line limit. */
function writeTooLong(out: ByteSink, rng: Rng, key: DevKey, eol: Uint8Array, maxLineBytes: number): void {
  if (!(maxLineBytes > 0)) throw new RangeError('too_long lines need maxLineBytes');
  const length = maxLineBytes + 1 + rng.int(64);
  out.ensure(length + eol.length);
  const start = out.offset;
  writeKey(out, key);
  writeCoords(out, rng);
  let i = 0;
  for (let left = length - (out.offset - start); left > 0; left--, i++) {
    // Runs of "1234," whose last byte is a digit whatever the cut.
    out.byte(left === 1 || i % 5 !== 4 ? 49 + (i % 5) : COMMA);
  }
  out.bytes(eol);
}
