/**
 * Incremental parser for memcached text/meta replies. Pure: no sockets, no timers.
 *
 * Feed it chunks exactly as they come off the wire; it keeps the partial tail (a split line,
 * or a `VA` data block still arriving) and makes no assumption about chunk boundaries.
 * Replies come out in wire order through a sink callback (no intermediate arrays: the hot case
 * is a long run of `MN\r\n`, which yields one shared frozen object and allocates nothing).
 *
 * Reply grammar (memcached doc/protocol.txt, "Meta Commands" and "Error strings"):
 *   HD|NS|EX|NF|EN [<flag>]*\r\n       meta status, flags echoed (O<opaque>, k<key>, ...)
 *   MN\r\n                             meta no-op: the fence that closes a quiet batch
 *   VA <size> [<flag>]*\r\n<data>\r\n  meta get hit
 *   CLIENT_ERROR <msg>\r\n | SERVER_ERROR <msg>\r\n | ERROR\r\n
 *   STAT <name> <value>\r\n ... END\r\n | VERSION <version>\r\n
 * Anything else means the stream is out of step: a ProtocolError, after which the parser
 * refuses more input (the connection must be dropped; replies can no longer be matched).
 *
 * Over 300 lines on purpose: the whole reply grammar in one place, as one byte-level loop that
 * runs for every reply of a run; split, its hot path would cross module boundaries per reply.
 */
import { ProtocolError } from '../errors.js';

export type MetaStatusKind = 'HD' | 'NS' | 'EX' | 'NF' | 'EN';

export interface MetaStatusReply {
  readonly kind: MetaStatusKind;
  readonly flags: readonly string[];
}
export interface NoopReply {
  readonly kind: 'MN';
}
export interface ValueReply {
  readonly kind: 'VA';
  readonly flags: readonly string[];
  /** A copy: it never aliases the chunk that was fed. */
  readonly data: Buffer;
}
export interface ErrorReply {
  readonly kind: 'CLIENT_ERROR' | 'SERVER_ERROR' | 'ERROR';
  /** Text after the kind; empty for a bare `ERROR`. */
  readonly message: string;
}
export interface StatReply {
  readonly kind: 'STAT';
  readonly name: string;
  readonly value: string;
}
export interface EndReply {
  readonly kind: 'END';
}
export interface VersionReply {
  readonly kind: 'VERSION';
  readonly version: string;
}

export type Reply = MetaStatusReply | NoopReply | ValueReply | ErrorReply | StatReply | EndReply | VersionReply;
export type ReplyKind = Reply['kind'];
export type ReplySink = (reply: Reply) => void;

export interface ResponseParserOptions {
  /** A reply line longer than this (without CRLF) is a protocol error. Default 8192. */
  readonly maxLineBytes?: number;
  /** A `VA` block larger than this is a protocol error (memcached's -I tops out at 1 GiB). */
  readonly maxValueBytes?: number;
  /** `host:port`, carried by the ProtocolError. */
  readonly server?: string;
}

export const DEFAULT_MAX_LINE_BYTES = 8192;
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;

const EMPTY_FLAGS: readonly string[] = Object.freeze([]);
const MN_REPLY: NoopReply = Object.freeze({ kind: 'MN' });
const END_REPLY: EndReply = Object.freeze({ kind: 'END' });
const BARE: Readonly<Record<MetaStatusKind, MetaStatusReply>> = Object.freeze({
  HD: Object.freeze({ kind: 'HD', flags: EMPTY_FLAGS }),
  NS: Object.freeze({ kind: 'NS', flags: EMPTY_FLAGS }),
  EX: Object.freeze({ kind: 'EX', flags: EMPTY_FLAGS }),
  NF: Object.freeze({ kind: 'NF', flags: EMPTY_FLAGS }),
  EN: Object.freeze({ kind: 'EN', flags: EMPTY_FLAGS }),
});

/** Two ASCII bytes as one number, so the two-letter codes switch on an int, not a string. */
const code2 = (s: string): number => (s.charCodeAt(0) << 8) | s.charCodeAt(1);
const C_MN = code2('MN');
const C_VA = code2('VA');
const STATUS_BY_CODE = new Map<number, MetaStatusKind>(
  (['HD', 'NS', 'EX', 'NF', 'EN'] as const).map((k) => [code2(k), k]),
);

export class ResponseParser {
  readonly #maxLine: number;
  readonly #maxValue: number;
  readonly #server: string | undefined;
  /** Bytes of a line whose LF has not arrived yet. */
  #tail: Buffer | null = null;
  /** A VA block being filled: `size + 2` bytes (data plus its CRLF). */
  #value: Buffer | null = null;
  #valueFilled = 0;
  #valueFlags: readonly string[] = EMPTY_FLAGS;
  #failed: Error | null = null;

  constructor(options: ResponseParserOptions = {}) {
    this.#maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#maxValue = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.#server = options.server;
  }

  /** Bytes held back waiting for the rest of a reply (0 when the stream ends on a boundary). */
  get pendingBytes(): number {
    return (this.#tail?.length ?? 0) + (this.#value === null ? 0 : this.#valueFilled);
  }

  /** True between a `VA` line and the end of its data block. */
  get inValue(): boolean {
    return this.#value !== null;
  }

  /** Forget any partial reply and a past error: for a fresh connection. */
  reset(): void {
    this.#tail = null;
    this.#value = null;
    this.#valueFilled = 0;
    this.#valueFlags = EMPTY_FLAGS;
    this.#failed = null;
  }

  /**
   * Parse `chunk`, calling `sink` once per complete reply, in order. Throws a ProtocolError
   * (after delivering every reply before the bad one); the parser then stays failed.
   */
  feed(chunk: Uint8Array, sink: ReplySink): void {
    if (this.#failed !== null) throw this.#failed;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      this.#feed(buf, sink);
    } catch (err) {
      this.#failed = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  /** Convenience for tests and one-shot callers: every complete reply in `chunk`. */
  push(chunk: Uint8Array): Reply[] {
    const out: Reply[] = [];
    this.feed(chunk, (r) => out.push(r));
    return out;
  }

  #feed(buf: Buffer, sink: ReplySink): void {
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      if (this.#value !== null) {
        pos = this.#fillValue(buf, pos, sink);
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf === -1) {
        this.#keepTail(buf.subarray(pos));
        return;
      }
      if (this.#tail === null) {
        this.#line(buf, pos, lf, sink);
      } else {
        // Only a line split across chunks pays for a copy.
        const line = Buffer.concat([this.#tail, buf.subarray(pos, lf + 1)]);
        this.#tail = null;
        this.#line(line, 0, line.length - 1, sink);
      }
      pos = lf + 1;
    }
  }

  #keepTail(rest: Buffer): void {
    // Copy: the caller may reuse its chunk. Bound it so a peer that never sends CRLF can't
    // grow us without limit (+1: the CR of a line of exactly the maximum length).
    const tail = this.#tail === null ? Buffer.from(rest) : Buffer.concat([this.#tail, rest]);
    if (tail.length > this.#maxLine + 1) {
      throw this.#error(`reply line longer than ${this.#maxLine} bytes without CRLF`, tail);
    }
    this.#tail = tail;
  }

  #fillValue(buf: Buffer, pos: number, sink: ReplySink): number {
    const value = this.#value as Buffer;
    const n = Math.min(value.length - this.#valueFilled, buf.length - pos);
    buf.copy(value, this.#valueFilled, pos, pos + n);
    this.#valueFilled += n;
    if (this.#valueFilled === value.length) {
      const size = value.length - 2;
      if (value[size] !== CR || value[size + 1] !== LF) {
        throw this.#error('VA data block not followed by CRLF', value.subarray(Math.max(0, size - 16)));
      }
      const flags = this.#valueFlags;
      this.#value = null;
      this.#valueFilled = 0;
      this.#valueFlags = EMPTY_FLAGS;
      sink({ kind: 'VA', flags, data: value.subarray(0, size) });
    }
    return pos + n;
  }

  /** One line: bytes [start, lf) where buf[lf] is LF. */
  #line(buf: Buffer, start: number, lf: number, sink: ReplySink): void {
    if (lf === start || buf[lf - 1] !== CR) throw this.#error('reply line not terminated by CRLF', buf.subarray(start, lf + 1));
    const end = lf - 1;
    const len = end - start;
    if (len > this.#maxLine) throw this.#error(`reply line longer than ${this.#maxLine} bytes`, buf.subarray(start, end));
    if (len === 2 && ((buf[start] << 8) | buf[start + 1]) === C_MN) {
      sink(MN_REPLY); // the hot case: a fence
      return;
    }
    // memcached never puts a CR inside a reply line; one there means the stream is out of step
    // (and it must not reach a log line or a flag). Only the rare longer lines pay for the scan.
    if (len > 2) {
      const cr = buf.indexOf(CR, start);
      if (cr < end) throw this.#error('CR inside a reply line', buf.subarray(start, end));
    }
    if (len >= 2 && (len === 2 || buf[start + 2] === SP)) {
      const c = (buf[start] << 8) | buf[start + 1];
      const status = STATUS_BY_CODE.get(c);
      if (status !== undefined) {
        sink(len === 2 ? BARE[status] : { kind: status, flags: tokens(buf, start + 3, end) });
        return;
      }
      if (c === C_VA && len > 3) {
        this.#startValue(buf, start, end);
        return;
      }
    }
    // Rare, textual replies: a string allocation is fine here.
    const text = buf.toString('latin1', start, end);
    const sp = text.indexOf(' ');
    const word = sp === -1 ? text : text.slice(0, sp);
    const rest = sp === -1 ? '' : text.slice(sp + 1);
    switch (word) {
      case 'CLIENT_ERROR':
      case 'SERVER_ERROR':
      case 'ERROR':
        sink({ kind: word, message: rest });
        return;
      case 'END':
        if (sp === -1) {
          sink(END_REPLY);
          return;
        }
        break;
      case 'VERSION':
        if (rest !== '') {
          sink({ kind: 'VERSION', version: rest });
          return;
        }
        break;
      case 'STAT': {
        const sp2 = rest.indexOf(' ');
        const name = sp2 === -1 ? rest : rest.slice(0, sp2);
        if (name !== '') {
          sink({ kind: 'STAT', name, value: sp2 === -1 ? '' : rest.slice(sp2 + 1) });
          return;
        }
        break;
      }
    }
    throw this.#error('unexpected reply', buf.subarray(start, end));
  }

  #startValue(buf: Buffer, start: number, end: number): void {
    let i = start + 3;
    let size = 0;
    const digits = i;
    while (i < end && buf[i] >= 0x30 && buf[i] <= 0x39) {
      size = size * 10 + (buf[i] - 0x30);
      if (size > this.#maxValue) throw this.#error(`VA block larger than ${this.#maxValue} bytes`, buf.subarray(start, end));
      i++;
    }
    if (i === digits || (i < end && buf[i] !== SP)) throw this.#error('malformed VA size', buf.subarray(start, end));
    this.#valueFlags = i < end ? tokens(buf, i + 1, end) : EMPTY_FLAGS;
    this.#value = Buffer.allocUnsafe(size + 2);
    this.#valueFilled = 0;
  }

  #error(what: string, bytes: Uint8Array): InstanceType<typeof ProtocolError> {
    const where = this.#server === undefined ? 'memcached' : this.#server;
    return new ProtocolError(`${what} from ${where}: "${printable(bytes)}"`, { server: this.#server });
  }
}

/** Space-separated tokens of buf[start, end), empty tokens skipped. */
function tokens(buf: Buffer, start: number, end: number): readonly string[] {
  const out: string[] = [];
  let i = start;
  while (i < end) {
    if (buf[i] === SP) {
      i++;
      continue;
    }
    let j = i;
    while (j < end && buf[j] !== SP) j++;
    out.push(buf.toString('latin1', i, j));
    i = j;
  }
  return out;
}

/** At most 80 bytes, non-printables escaped, for error messages. */
function printable(bytes: Uint8Array): string {
  let s = '';
  const n = Math.min(bytes.length, 80);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === CR) s += '\\r';
    else if (b === LF) s += '\\n';
    else if (b < 0x20 || b >= 0x7f || b === 0x22 || b === 0x5c) s += `\\x${b.toString(16).padStart(2, '0')}`;
    else s += String.fromCharCode(b);
  }
  return bytes.length > n ? `${s}…` : s;
}
