import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ResponseParser, type Reply } from '../../../src/memcached/response-parser.js';

const b = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s);

/** Wire bytes of a reply, written independently of the parser. */
function wire(r: Reply): Buffer {
  switch (r.kind) {
    case 'HD':
    case 'NS':
    case 'EX':
    case 'NF':
    case 'EN':
      return b([r.kind, ...r.flags].join(' ') + '\r\n');
    case 'MN':
    case 'END':
      return b(`${r.kind}\r\n`);
    case 'VA':
      return Buffer.concat([b([`VA ${r.data.length}`, ...r.flags].join(' ') + '\r\n'), r.data, b('\r\n')]);
    case 'CLIENT_ERROR':
    case 'SERVER_ERROR':
      return b(`${r.kind} ${r.message}\r\n`);
    case 'ERROR':
      return b(r.message === '' ? 'ERROR\r\n' : `ERROR ${r.message}\r\n`);
    case 'STAT':
      return b(`STAT ${r.name} ${r.value}\r\n`);
    case 'VERSION':
      return b(`VERSION ${r.version}\r\n`);
  }
}

function parseChunks(chunks: readonly Buffer[]): Reply[] {
  const p = new ResponseParser();
  const out: Reply[] = [];
  for (const c of chunks) p.feed(c, (r) => out.push(r));
  assert.equal(p.pendingBytes, 0, 'nothing left over');
  return out;
}

/** Normalizes frozen objects / subarrays for deepEqual. */
const plain = (rs: readonly Reply[]): unknown[] =>
  rs.map((r) => (r.kind === 'VA' ? { ...r, flags: [...r.flags], data: Buffer.from(r.data) } : 'flags' in r ? { ...r, flags: [...r.flags] } : { ...r }));

const ALL: Reply[] = [
  { kind: 'HD', flags: [] },
  { kind: 'HD', flags: ['O123', 'kfoo'] },
  { kind: 'NS', flags: [] },
  { kind: 'EX', flags: ['O1'] },
  { kind: 'NF', flags: [] },
  { kind: 'EN', flags: [] },
  { kind: 'MN' },
  { kind: 'VA', flags: ['t-1', 'kbar'], data: b('hello') },
  { kind: 'VA', flags: [], data: b('') },
  { kind: 'VA', flags: ['f0'], data: b('bin\r\nMN\r\n\x00\xff') },
  { kind: 'CLIENT_ERROR', message: 'bad command line format' },
  { kind: 'SERVER_ERROR', message: 'object too large for cache' },
  { kind: 'SERVER_ERROR', message: 'out of memory storing object' },
  { kind: 'ERROR', message: '' },
  { kind: 'STAT', name: 'pid', value: '1234' },
  { kind: 'STAT', name: 'libevent', value: '2.1.12-stable' },
  { kind: 'END' },
  { kind: 'VERSION', version: '1.6.18' },
];

describe('ResponseParser', () => {
  it('parses every reply kind, one chunk each', () => {
    for (const r of ALL) assert.deepEqual(plain(parseChunks([wire(r)])), plain([r]), r.kind);
  });

  it('parses a stream of every kind as one chunk', () => {
    const stream = Buffer.concat(ALL.map(wire));
    assert.deepEqual(plain(parseChunks([stream])), plain(ALL));
  });

  it('parses the stream split in two at every byte offset', () => {
    const stream = Buffer.concat(ALL.map(wire));
    for (let i = 0; i <= stream.length; i++) {
      assert.deepEqual(plain(parseChunks([stream.subarray(0, i), stream.subarray(i)])), plain(ALL), `split at ${i}`);
    }
  });

  it('parses the stream fed one byte at a time', () => {
    const stream = Buffer.concat(ALL.map(wire));
    const chunks = Array.from(stream, (_, i) => stream.subarray(i, i + 1));
    assert.deepEqual(plain(parseChunks(chunks)), plain(ALL));
  });

  it('returns one shared object for MN and allocates nothing per bare status', () => {
    const p = new ResponseParser();
    const rs = p.push(b('MN\r\nMN\r\nHD\r\nHD\r\n'));
    assert.equal(rs[0], rs[1]);
    assert.equal(rs[2], rs[3]);
    assert.ok(Object.isFrozen(rs[0]));
  });

  it('keeps a VA block that straddles chunks, and copies it', () => {
    const p = new ResponseParser();
    const out: Reply[] = [];
    const chunk1 = b('VA 10 t5\r\n0123');
    p.feed(chunk1, (r) => out.push(r));
    assert.equal(out.length, 0);
    assert.ok(p.inValue);
    p.feed(b('4567'), (r) => out.push(r));
    p.feed(b('89\r'), (r) => out.push(r));
    assert.equal(out.length, 0);
    const chunk4 = b('\nMN\r\n');
    p.feed(chunk4, (r) => out.push(r));
    assert.deepEqual(plain(out), [{ kind: 'VA', flags: ['t5'], data: b('0123456789') }, { kind: 'MN' }]);
    chunk1.fill(0);
    assert.equal((out[0] as { data: Buffer }).data.toString(), '0123456789');
  });

  it('accepts a Uint8Array that is not a Buffer', () => {
    const p = new ResponseParser();
    assert.deepEqual(plain(p.push(new Uint8Array(b('NS\r\n')))), [{ kind: 'NS', flags: [] }]);
  });

  it('reports pending bytes of a partial line', () => {
    const p = new ResponseParser();
    p.push(b('SERVER_ERR'));
    assert.equal(p.pendingBytes, 10);
    p.reset();
    assert.equal(p.pendingBytes, 0);
  });

  const garbage: [string, string][] = [
    ['unknown word', 'FOO bar\r\n'],
    ['lowercase', 'mn\r\n'],
    ['LF without CR', 'MN\n'],
    ['bare CR-LF', '\r\n'],
    ['MN with flags', 'MN x\r\n'],
    ['VA without size', 'VA\r\n'],
    ['VA bad size', 'VA x1 t\r\n'],
    ['VA size then junk', 'VA 3x\r\nabc\r\n'],
    ['VA block without CRLF', 'VA 3\r\nabcde\r\n'],
    ['END with text', 'END x\r\n'],
    ['VERSION empty', 'VERSION\r\n'],
    ['STAT without name', 'STAT\r\n'],
    ['three-letter code', 'HDX\r\n'],
    ['binary', '\x81\x01\x00\x00\r\n'],
  ];
  for (const [name, text] of garbage) {
    it(`rejects garbage: ${name}`, () => {
      const p = new ResponseParser({ server: '127.0.0.1:1' });
      assert.throws(() => p.push(b(text)), (err: Error & { code?: string; server?: string }) => {
        assert.equal(err.code, 'MCL_ERR_PROTOCOL');
        assert.equal(err.name, 'ProtocolError');
        assert.equal(err.server, '127.0.0.1:1');
        assert.match(err.message, /127\.0\.0\.1:1/);
        return true;
      });
    });
  }

  it('delivers the replies before the bad one, then stays failed', () => {
    const p = new ResponseParser();
    const out: Reply[] = [];
    assert.throws(() => p.feed(b('MN\r\nNS\r\nBOGUS\r\nMN\r\n'), (r) => out.push(r)), { code: 'MCL_ERR_PROTOCOL' });
    assert.deepEqual(plain(out), [{ kind: 'MN' }, { kind: 'NS', flags: [] }]);
    assert.throws(() => p.push(b('MN\r\n')), { code: 'MCL_ERR_PROTOCOL' });
    p.reset();
    assert.equal(p.push(b('MN\r\n')).length, 1);
  });

  it('bounds the tail: a long line without CRLF is a protocol error', () => {
    const p = new ResponseParser({ maxLineBytes: 64 });
    p.push(b('SERVER_ERROR ' + 'x'.repeat(40)));
    assert.throws(() => p.push(b('y'.repeat(40))), { code: 'MCL_ERR_PROTOCOL' });
    const q = new ResponseParser({ maxLineBytes: 64 });
    assert.throws(() => q.push(b('SERVER_ERROR ' + 'x'.repeat(60) + '\r\n')), { code: 'MCL_ERR_PROTOCOL' });
    const ok = new ResponseParser({ maxLineBytes: 64 });
    assert.equal(ok.push(b('SERVER_ERROR ' + 'x'.repeat(51) + '\r\n')).length, 1, 'exactly 64 bytes is fine');
  });

  it('bounds VA sizes', () => {
    const p = new ResponseParser({ maxValueBytes: 100 });
    assert.throws(() => p.push(b('VA 101\r\n')), { code: 'MCL_ERR_PROTOCOL' });
    assert.throws(() => new ResponseParser().push(b('VA 99999999999999999999\r\n')), { code: 'MCL_ERR_PROTOCOL' });
  });

  it('property: any valid reply sequence, cut anywhere, parses to itself', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_\-:.]{1,12}$/);
    const text = fc.stringMatching(/^[ -~]{0,40}$/).filter((s) => !s.includes('\r'));
    const reply: fc.Arbitrary<Reply> = fc.oneof(
      fc.record({ kind: fc.constantFrom('HD', 'NS', 'EX', 'NF', 'EN' as const), flags: fc.array(token, { maxLength: 4 }) }),
      fc.constant({ kind: 'MN' as const }),
      fc.constant({ kind: 'END' as const }),
      fc.record({
        kind: fc.constant('VA' as const),
        flags: fc.array(token, { maxLength: 3 }),
        data: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
      }),
      fc.record({ kind: fc.constantFrom('CLIENT_ERROR', 'SERVER_ERROR' as const), message: text }),
      fc.record({ kind: fc.constant('ERROR' as const), message: text.filter((s) => !s.startsWith(' ')) }),
      fc.record({ kind: fc.constant('STAT' as const), name: token, value: text }),
      fc.record({ kind: fc.constant('VERSION' as const), version: token }),
    );
    fc.assert(
      fc.property(fc.array(reply, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 20 }), (replies, cuts) => {
        const stream = Buffer.concat(replies.map(wire));
        const points = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1))))].sort((x, y) => x - y);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(stream.subarray(prev, p));
          prev = p;
        }
        chunks.push(stream.subarray(prev));
        assert.deepEqual(plain(parseChunks(chunks)), plain(replies));
      }),
      { numRuns: 500 },
    );
  });
});
