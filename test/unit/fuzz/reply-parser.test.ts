/**
 * Fuzzing the reply parser with what a broken or hostile peer could send. The property tests in
 * test/unit/memcached/response-parser.test.ts cover valid streams cut anywhere; here the stream
 * is garbage, or valid replies with bytes flipped, inserted and dropped. Whatever arrives, the
 * parser yields replies or throws a ProtocolError — never anything else, never a reply that is
 * not one — and it never holds more than its line and value limits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemcLoadError } from '../../../src/errors.js';
import { ResponseParser, type Reply } from '../../../src/memcached/response-parser.js';
import { fuzz } from './budget.js';

const MAX_LINE = 64;
const MAX_VALUE = 256;
const KINDS = new Set(['HD', 'NS', 'EX', 'NF', 'EN', 'MN', 'VA', 'CLIENT_ERROR', 'SERVER_ERROR', 'ERROR', 'STAT', 'END', 'VERSION']);

/** Pieces of real replies, glued in any order, so the fuzzer reaches deep into the grammar. */
const token = fc.constantFrom(
  'MN', 'HD', 'NS', 'EX', 'NF', 'EN', 'VA', 'VA 3', 'VA 0', 'VA 999999', 'VA -1', 'VA 3x', 'END', 'ERROR', 'CLIENT_ERROR bad data chunk',
  'SERVER_ERROR out of memory storing object', 'SERVER_ERROR object too large for cache', 'STAT pid 1', 'STAT', 'VERSION 1.6.18', 'VERSION',
  ' ', '  ', 'O123', 'k', 't-1', '\r\n', '\r', '\n', '\r\r\n', 'abc', '\x00', '\xff',
);
const piece = fc.oneof(
  { weight: 5, arbitrary: token.map((s) => Buffer.from(s, 'latin1')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((n) => Buffer.alloc(n, 0x41)) },
);
const stream = fc.array(piece, { maxLength: 40 }).map((ps) => Buffer.concat(ps));

/** Feeds `bytes` cut at `cuts`; checks every step; returns replies and the error, if any. */
function feedAll(bytes: Buffer, cuts: readonly number[]): { replies: Reply[]; error: unknown } {
  const p = new ResponseParser({ maxLineBytes: MAX_LINE, maxValueBytes: MAX_VALUE, server: 'fuzz:1' });
  const replies: Reply[] = [];
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  for (const at of [...points, bytes.length]) {
    try {
      p.feed(bytes.subarray(prev, at), (r) => replies.push(r));
    } catch (err) {
      // The only way out: a ProtocolError naming the server; the parser then stays failed.
      assert.ok(err instanceof MemcLoadError, `threw ${String(err)}`);
      assert.equal(err.code, 'MCL_ERR_PROTOCOL');
      assert.equal(err.server, 'fuzz:1');
      assert.throws(() => p.feed(Buffer.from('MN\r\n'), () => assert.fail('no reply after a protocol error')), { code: 'MCL_ERR_PROTOCOL' });
      return { replies, error: err };
    }
    // Bounded: a partial line up to its limit (+ its CR), or one VA block up to its limit (+ CRLF).
    assert.ok(p.pendingBytes <= Math.max(MAX_LINE + 1, MAX_VALUE + 2), `holds ${p.pendingBytes} bytes`);
    prev = at;
  }
  return { replies, error: null };
}

function checkReply(r: Reply): void {
  assert.ok(KINDS.has(r.kind), r.kind);
  if (r.kind === 'VA') assert.ok(r.data.length <= MAX_VALUE);
  // Nothing a reply carries can hold the framing bytes: it could not have come out of one line.
  if ('flags' in r) for (const f of r.flags) assert.ok(f.length > 0 && !/[ \r\n]/.test(f), JSON.stringify(f));
  if ('message' in r) assert.ok(!/[\r\n]/.test(r.message), JSON.stringify(r.message));
  if (r.kind === 'STAT') assert.ok(!/[\r\n]/.test(r.name + r.value));
  if (r.kind === 'VERSION') assert.ok(!/[\r\n]/.test(r.version));
}

describe('fuzz: ResponseParser', () => {
  it('on glued pieces of replies and garbage: replies or a ProtocolError, bounded memory', (t) => {
    fuzz(
      t,
      fc.property(stream, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const { replies } = feedAll(bytes, cuts);
        for (const r of replies) checkReply(r);
      }),
    );
  });

  it('the same bytes give the same replies however they are cut', (t) => {
    fuzz(
      t,
      fc.property(stream, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const whole = feedAll(bytes, []);
        const cut = feedAll(bytes, cuts);
        const plain = (rs: Reply[]) => rs.map((r) => (r.kind === 'VA' ? { ...r, data: r.data.toString('hex') } : r));
        assert.deepEqual(plain(cut.replies), plain(whole.replies));
        assert.equal(cut.error === null, whole.error === null);
      }),
    );
  });

  it('on valid replies with bytes flipped, inserted or dropped: never anything but replies or a ProtocolError', (t) => {
    const valid = fc
      .array(
        fc.constantFrom('MN\r\n', 'HD O1\r\n', 'NS\r\n', 'SERVER_ERROR out of memory storing object\r\n', 'VA 2 t-1\r\nab\r\n', 'END\r\n'),
        { minLength: 1, maxLength: 30 },
      )
      .map((rs) => Buffer.from(rs.join(''), 'latin1'));
    const edit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('flip', 'insert', 'drop') });
    fuzz(
      t,
      fc.property(valid, fc.array(edit, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 5 }), (bytes, edits, cuts) => {
        let b = bytes;
        for (const e of edits) {
          const at = e.at % b.length;
          if (e.op === 'flip') b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at + 1)]);
          else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([e.byte]), b.subarray(at)]);
          else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        }
        const { replies } = feedAll(b, cuts);
        for (const r of replies) checkReply(r);
      }),
    );
  });

  it('found by this fuzzer: a CR inside a reply line is a protocol error, not part of a message or flag', () => {
    for (const line of ['SERVER_ERROR object too large\r\r\n', 'VA 2 t-1\r\x00ab\r\nMN\r\n', 'HD O1\rk\r\n', 'STAT pid 1\r\r\n']) {
      assert.throws(() => new ResponseParser().push(Buffer.from(line, 'latin1')), { code: 'MCL_ERR_PROTOCOL' }, JSON.stringify(line));
    }
  });

  it('a peer that never ends its line is cut off at the limit, not buffered', () => {
    const p = new ResponseParser({ maxLineBytes: MAX_LINE });
    let fed = 0;
    assert.throws(() => {
      for (;;) {
        p.feed(Buffer.alloc(7, 0x41), () => assert.fail('no reply'));
        fed += 7;
        assert.ok(p.pendingBytes <= MAX_LINE + 1);
      }
    }, { code: 'MCL_ERR_PROTOCOL' });
    assert.ok(fed <= MAX_LINE + 1);
  });
});
