/**
 * Why a line was rejected, for people: the field and its offending value (`lat "55,2" is not a
 * number`). parse-line.ts gives only the reason, because it runs for every line and must not
 * build strings; this runs only for the few sampled lines that are logged, so it can afford to
 * split the line again. Pure, so the workers run it and a sample reads the same with any
 * --workers.
 */
import { parseDecimal } from './decimal.js';
import { isKeyByte, MAX_KEY_BYTES } from './key.js';
import type { LineRejectReason } from './parse-line.js';

/** Characters of a value shown; longer ones are cut with an ellipsis and their length given. */
export const MAX_SHOWN_CHARS = 40;

export interface RejectDetail {
  /** The field at fault (`dev_type`, `lat`, `apps`…; `line` for the line as a whole). */
  readonly field: string;
  /** Its value as shown: escaped, cut to MAX_SHOWN_CHARS; null when only its length is told. */
  readonly value: string | null;
  /** The line's length in bytes, for `too_long`. */
  readonly bytes?: number;
  /** The sentence for the log: `lat "55,2" is not a number`. */
  readonly text: string;
}

const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;

/** For a line over --max-line-bytes, which is never held whole: its length is all there is. */
export function describeTooLong(bytes: number, maxLineBytes: number): RejectDetail {
  return { field: 'line', value: null, bytes, text: `the line is ${bytes} bytes, over --max-line-bytes ${maxLineBytes}` };
}

/**
 * Describes line `buf[start, end)` (end at its newline, as parseLine takes it), rejected for
 * `reason`, or, for `apps`, kept with app ids dropped.
 */
export function describeReject(
  buf: Uint8Array,
  start: number,
  end: number,
  reason: LineRejectReason | 'apps',
  maxLineBytes: number,
): RejectDetail {
  if (reason === 'too_long') return describeTooLong(end - start, maxLineBytes);
  while (end > start && (buf[end - 1] === CR || buf[end - 1] === LF)) end--;
  const fields: [number, number][] = [];
  let s = start;
  for (let i = start; i <= end; i++) {
    if (i === end || buf[i] === TAB) {
      fields.push([s, i]);
      s = i + 1;
    }
  }
  const at = (n: number): [number, number] => fields[n] ?? [end, end];
  const [typeS, typeE] = at(0);
  const [idS, idE] = at(1);
  switch (reason) {
    case 'fields': {
      const v = shown(buf, start, end);
      return { field: 'line', value: v.value, text: `${fields.length} fields, not 5: ${v.quoted}` };
    }
    case 'empty': {
      const field = typeE === typeS ? 'dev_type' : 'dev_id';
      return { field, value: '', text: `${field} is empty` };
    }
    case 'type': {
      const v = shown(buf, typeS, typeE);
      return { field: 'dev_type', value: v.value, text: `${v.quoted} has no server` };
    }
    case 'key': {
      for (let i = idS; i < idE; i++) {
        if (isKeyByte(buf[i] as number)) continue;
        const v = shown(buf, idS, idE);
        return { field: 'dev_id', value: v.value, text: `dev_id ${v.quoted} holds a space, control byte or DEL (byte ${i - idS + 1}), which a memcached key cannot` };
      }
      const keyBytes = typeE - typeS + 1 + (idE - idS);
      const key = Buffer.concat([buf.subarray(typeS, typeE), Buffer.from(':'), buf.subarray(idS, idE)]);
      const v = shown(key, 0, key.length);
      return { field: 'key', value: v.value, text: `the key is ${keyBytes} bytes, over ${MAX_KEY_BYTES}: ${v.quoted}` };
    }
    case 'geo': {
      for (const [n, field] of [[2, 'lat'], [3, 'lon']] as const) {
        const [fs, fe] = at(n);
        if (!Number.isNaN(parseDecimal(buf, fs, fe))) continue;
        const v = shown(buf, fs, fe);
        // Parsed as NaN yet written as a decimal number: it overflows a double (1e999).
        const why = DECIMAL.test(Buffer.from(buf.subarray(fs, fe)).toString('latin1').replace(/^ +| +$/g, '')) ? 'is not finite' : 'is not a number';
        return { field, value: v.value, text: `${field} ${v.quoted} ${why}` };
      }
      return { field: 'geo', value: null, text: 'lat/lon is not a number' };
    }
    case 'apps': {
      const [as, ae] = at(4);
      const text = Buffer.from(buf.subarray(as, ae)).toString('latin1');
      const dropped = text.split(',').filter((id) => {
        const t = id.replace(/^ +| +$/g, '');
        return !/^\d+$/.test(t) || Number(t) > 4294967295;
      });
      const first = dropped.slice(0, 3).map((id) => shown(Buffer.from(id, 'latin1'), 0, id.length).quoted);
      const more = dropped.length > 3 ? ', …' : '';
      const v = shown(Buffer.from(dropped[0] ?? '', 'latin1'), 0, (dropped[0] ?? '').length);
      return { field: 'apps', value: v.value, text: `dropped ${dropped.length} app id(s) that are not uint32 numbers: ${first.join(', ')}${more}` };
    }
  }
}

/** SPEC.md's decimal number, after trimming spaces. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

interface Shown {
  /** Escaped, cut, without quotes. */
  readonly value: string;
  /** `"value"`, and when cut, the whole length: `"abc…" (312 bytes)`. */
  readonly quoted: string;
}

/**
 * `buf[s, e)` as a reader can see it: printable UTF-8 kept, `"` and `\` escaped, \t \n \r as
 * such, other control characters as \u00XX (as JSON.stringify does), and bytes that are not
 * UTF-8 as \xNN, so nothing in a log line is invisible or lost.
 */
function shown(buf: Uint8Array, s: number, e: number): Shown {
  let out = '';
  let chars = 0;
  let i = s;
  while (i < e && chars < MAX_SHOWN_CHARS) {
    const b = buf[i] as number;
    chars++;
    if (b < 0x80) {
      out += escapeAscii(b);
      i++;
      continue;
    }
    const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    const text = len > 1 && i + len <= e ? Buffer.from(buf.subarray(i, i + len)).toString('utf8') : '';
    const cp = text.codePointAt(0) ?? 0;
    // One whole code point that round-trips, and is not a C1 control: keep it as it is.
    if (text !== '' && [...text].length === 1 && Buffer.from(text, 'utf8').length === len && cp !== 0xfffd && !(cp >= 0x80 && cp < 0xa0)) {
      out += text;
      i += len;
    } else {
      out += `\\x${b.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  const cut = i < e;
  const value = cut ? `${out}…` : out;
  return { value, quoted: cut ? `"${value}" (${e - s} bytes)` : `"${value}"` };
}

function escapeAscii(b: number): string {
  switch (b) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
  }
  if (b < 0x20 || b === 0x7f) return `\\u${b.toString(16).padStart(4, '0')}`;
  return String.fromCharCode(b);
}
