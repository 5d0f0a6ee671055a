/**
 * `--dry` output of encode-chunk.ts: one `<server>\t<key>\t<json>\n` line per record.
 */
import { KEY_PREFIXES } from '../memcached/encode.js';
import type { LaneLayout } from '../pool/lanes.js';
import * as decimal from '../record/decimal.js';
import type { ParsedLine } from '../record/parse-line.js';

// A constant of this module, not an imported binding, so that TurboFan inlines it without a
// check per call (see fast-line.ts).
const { writeDecimal } = decimal;

/**
 * `--dry` output, one `<server>\t<key>\t<json>\n` line per record. The key is copied as raw bytes
 * so a non-UTF-8 id shows as it would be stored. Written byte by byte rather than through
 * template strings, which ran at ~0.16 M lines/s on the micro benchmark (now ~2-3x that).
 */
export class DryWriter {
  #buf: Uint8Array;
  #pos = 0;
  /** Per lane: `<label>\t<type>:`. */
  readonly #labels: readonly Uint8Array[];
  readonly #layout: LaneLayout;
  #key = new Uint8Array(256);

  constructor(layout: LaneLayout, hint: number) {
    this.#buf = new Uint8Array(Math.max(hint, 1024));
    this.#layout = layout;
    // KEY_PREFIXES are `ms <type>:`; the dry line wants `<label>\t<type>:`.
    this.#labels = layout.labels.map((label, lane) => {
      let type = 0;
      while (type + 1 < layout.base.length && (layout.base[type + 1] as number) <= lane) type++;
      return Buffer.concat([Buffer.from(`${label}\t`, 'utf8'), KEY_PREFIXES[type].subarray(3)]);
    });
  }

  /** The lane of a record: its type's, or in a pool the node its key goes to. */
  #lane(input: Uint8Array, rec: ParsedLine): number {
    const base = this.#layout.base[rec.type] as number;
    const placement = this.#layout.placements[rec.type];
    if (placement === null || placement === undefined) return base;
    const prefix = KEY_PREFIXES[rec.type].subarray(3);
    const len = prefix.length + rec.idEnd - rec.idStart;
    if (this.#key.length < len) this.#key = new Uint8Array(len * 2);
    this.#key.set(prefix, 0);
    this.#key.set(input.subarray(rec.idStart, rec.idEnd), prefix.length);
    return base + placement.nodeOf(this.#key, 0, len);
  }

  write(input: Uint8Array, rec: ParsedLine): void {
    // JSON prints numbers as JS does: String(-0) is "0", 1e21 is "1e+21".
    const lat = String(rec.lat);
    const lon = String(rec.lon);
    const label = this.#labels[this.#lane(input, rec)] as Uint8Array;
    const max = label.length + (rec.idEnd - rec.idStart) + 32 + rec.appCount * 11 + lat.length + lon.length;
    let buf = this.#buf;
    if (buf.length - this.#pos < max) buf = this.#grow(max);
    let p = this.#pos;
    for (let i = 0; i < label.length; i++) buf[p++] = label[i];
    for (let i = rec.idStart; i < rec.idEnd; i++) buf[p++] = input[i];
    p = writeAscii(buf, p, '\t{"apps":[');
    for (let i = 0; i < rec.appCount; i++) {
      if (i > 0) buf[p++] = 0x2c;
      p = writeDecimal(buf, p, rec.apps[i]);
    }
    p = writeAscii(buf, p, '],"lat":');
    p = writeAscii(buf, p, lat);
    p = writeAscii(buf, p, ',"lon":');
    p = writeAscii(buf, p, lon);
    buf[p++] = 0x7d;
    buf[p++] = 0x0a;
    this.#pos = p;
  }

  finish(): Uint8Array {
    // At offset 0 of an ArrayBuffer of its own, so a worker can transfer it.
    const out = new Uint8Array(Buffer.allocUnsafeSlow(this.#pos).buffer, 0, this.#pos);
    out.set(this.#buf.subarray(0, this.#pos));
    return out;
  }

  #grow(need: number): Uint8Array {
    let size = this.#buf.length * 2;
    while (size - this.#pos < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    return next;
  }
}

function writeAscii(buf: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[p++] = text.charCodeAt(i);
  return p;
}
