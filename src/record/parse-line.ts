/**
 * One TSV line → a record or a rejection reason (SPEC.md "A line"), straight from bytes.
 *
 * This runs once per input line (~3.4 M per file), so it works on byte ranges of the chunk and
 * writes into a caller-owned `ParsedLine`: parsing a good line allocates nothing. The only string
 * ever built is for a lat/lon that decimal.ts's exact fast path cannot handle.
 *
 * The checks run in the SPEC's order and the first that applies wins, but the work is not done in
 * that order: the apps field is parsed in the same pass that proves there is no fifth tab, so its
 * bytes are read once.
 *
 * This file finds the fields and gives the verdict; what a field holds is read by its own module:
 * lat/lon by decimal.ts, the app ids by apps-field.ts, and the key rule is key.ts's.
 */
import { DEFAULTS } from '../config/defaults.js';
import { DEVICE_TYPES, type DeviceType } from '../config/servers.js';
import * as appsField from './apps-field.js';
import * as decimal from './decimal.js';
import * as key from './key.js';
import type { RejectReason } from './reasons.js';

// Part of this module's interface before decimal.ts was split out of it.
export { parseDecimal } from './decimal.js';

/** Reasons a line itself can be rejected for (`too_large` comes from memcached, not the line). */
export type LineRejectReason = Exclude<RejectReason, 'too_large'>;
export type ParseStatus = 'ok' | 'blank' | LineRejectReason;

// What parseLine uses of its sibling modules, as constants of this one: TurboFan folds a module's
// own constants into the code but reads an imported binding through its cell at every use (the
// fast path measured this: pipeline/fast-line.ts).
const { parseApps } = appsField;
const { scanDecimal, decimalScan } = decimal;
const { isKeyByte, typeAt, MAX_DEV_ID_BYTES, TYPE_BYTES } = key;

const TAB = 0x09;
const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/** Reusable parse target. Fields are only meaningful after `parseLine` returned `'ok'`. */
export class ParsedLine implements appsField.AppsTarget {
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
    if (!isKeyByte(c)) {
      if (c === TAB) break;
      idBad = true;
    }
    p++;
  }
  const t2 = p++;
  let lat = scanDecimal(buf, p, end);
  p = skipToTab(buf, decimalScan.end, end);
  if (p !== decimalScan.end) lat = NaN;
  p++; // past the tab before lon
  let lon = scanDecimal(buf, p, end);
  p = skipToTab(buf, decimalScan.end, end);
  if (p !== decimalScan.end) lon = NaN;
  const t4 = p;
  if (t4 >= end) return 'fields';

  if (!parseApps(buf, t4 + 1, end, out)) return 'fields';

  const typeLen = t1 - start;
  const idLen = t2 - t1 - 1;
  if (typeLen === 0 || idLen === 0) return 'empty';

  if (typeLen !== TYPE_BYTES) return 'type';
  const type = typeAt(buf, start);
  if (type < 0) return 'type';

  if (idBad || idLen > MAX_DEV_ID_BYTES) return 'key';

  if (Number.isNaN(lat) || Number.isNaN(lon)) return 'geo';

  out.type = type;
  out.idStart = t1 + 1;
  out.idEnd = t2;
  out.lat = lat;
  out.lon = lon;
  return 'ok';
}

function skipToTab(buf: Uint8Array, p: number, end: number): number {
  while (p < end && buf[p] !== TAB) p++;
  return p;
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
  maxLineBytes: number = DEFAULTS.maxLineBytes,
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
