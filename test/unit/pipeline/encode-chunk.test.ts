import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { DEVICE_TYPES } from '../../../src/config/servers.js';
import type { ChunkResult, EncodeSettings } from '../../../src/pipeline/chunk-types.js';
import { encodeChunk } from '../../../src/pipeline/encode-chunk.js';
import { encodeSettings } from '../../helpers/encode.js';
import { repoRoot } from '../../helpers/paths.js';

const ROOT = repoRoot();
const UserApps = protobuf.loadSync(join(ROOT, 'appsinstalled.proto')).lookupType('UserApps');
const LABELS = ['10.0.0.1:1', '10.0.0.2:2', '10.0.0.3:3', '10.0.0.4:4'];

function settings(over: Partial<EncodeSettings> = {}): EncodeSettings {
  return encodeSettings({ serverLabels: LABELS, ...over });
}

interface Frame {
  readonly key: string;
  readonly flags: string;
  readonly hex: string;
}

/** Test-local reader of `ms <key> <len> <flags>\r\n<data>\r\n … mn\r\n`; the fence must be last. */
function splitFrames(buf: Uint8Array): Frame[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const frames: Frame[] = [];
  let p = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', p);
    assert.ok(eol >= 0, `no header end after byte ${p}`);
    const [cmd, key, len, ...flags] = b.toString('latin1', p, eol).split(' ');
    if (cmd === 'mn') {
      assert.equal(key, undefined);
      assert.equal(eol + 2, b.length, 'mn must be the last thing in the buffer');
      return frames;
    }
    assert.equal(cmd, 'ms');
    assert.match(len ?? '', /^(0|[1-9]\d*)$/);
    const start = eol + 2;
    const end = start + Number(len);
    assert.equal(b.toString('latin1', end, end + 2), '\r\n', 'value must be followed by CRLF');
    frames.push({ key: key as string, flags: flags.join(' '), hex: b.toString('hex', start, end) });
    p = end + 2;
  }
}

/** Per server: the [key, value hex] pairs the chunk's frames hold, in order. */
function framesByServer(r: ChunkResult, flags = 'q'): [string, string][][] {
  return r.frames.map((f) => {
    if (f === null) return [];
    return splitFrames(f).map((fr) => {
      assert.equal(fr.flags, flags);
      return [fr.key, fr.hex] as [string, string];
    });
  });
}

function serverOf(key: string): number {
  return (DEVICE_TYPES as readonly string[]).indexOf(key.slice(0, key.indexOf(':')));
}

function protobufjsHex(apps: number[], lat: number, lon: number): string {
  return Buffer.from(UserApps.encode(UserApps.create({ apps, lat, lon })).finish()).toString('hex');
}

// The two real fixture files and their golden values, per server in line order.
const FILES = ['20170929000000.head100.tsv.gz', '20170929000200.head100.tsv.gz'];
const fixture = new Map<string, Buffer>(FILES.map((f) => [f, gunzipSync(readFileSync(join(ROOT, 'test/fixtures', f)))]));
const golden: [file: string, key: string, hex: string][] = readFileSync(join(ROOT, 'test/fixtures/head100.golden.tsv'), 'utf8')
  .split('\n')
  .filter((row) => row !== '' && !row.startsWith('#'))
  .map((row) => {
    const [file, , key, hex] = row.split('\t') as [string, string, string, string];
    return [file, key, hex];
  });
function goldenByServer(files: readonly string[]): [string, string][][] {
  const out: [string, string][][] = DEVICE_TYPES.map(() => []);
  for (const f of files) for (const [file, key, hex] of golden) if (file === f) out[serverOf(key)]!.push([key, hex]);
  return out;
}

describe('encodeChunk: golden data', () => {
  for (const file of FILES) {
    it(`${file}: every frame carries the golden key and value`, () => {
      const r = encodeChunk(fixture.get(file)!, settings());
      assert.equal(r.lines, 100);
      assert.equal(r.nonBlank, 100);
      assert.deepEqual(r.rejected, {});
      assert.equal(r.appWarnings, 0);
      const want = goldenByServer([file]);
      assert.deepEqual(framesByServer(r), want);
      assert.deepEqual(r.records, want.map((w) => w.length));
    });
  }

  it('both files cut into chunks anywhere between lines give the same frames, in order', () => {
    const all = Buffer.concat(FILES.map((f) => fixture.get(f)!));
    const starts: number[] = [];
    for (let i = 0; i < all.length; i++) if (all[i - 1] === 0x0a) starts.push(i);
    const want = goldenByServer(FILES);
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom(...starts), { maxLength: 20 }), (cuts) => {
        const bounds = [0, ...cuts.sort((a, b) => a - b), all.length];
        const got: [string, string][][] = DEVICE_TYPES.map(() => []);
        let lines = 0;
        for (let i = 0; i + 1 < bounds.length; i++) {
          const r = encodeChunk(all.subarray(bounds[i], bounds[i + 1]), settings());
          lines += r.lines;
          framesByServer(r).forEach((f, s) => got[s]!.push(...f));
        }
        assert.equal(lines, 200);
        assert.deepEqual(got, want);
      }),
      { numRuns: 50 },
    );
  });
});

describe('encodeChunk: counting', () => {
  const mixed = [
    'idfa\taaa\t1.5\t-2\t10,20', // 1 ok
    '', // 2 blank
    'gaid\tx\t1\t2', // 3 fields
    '  \t ', // 4 blank
    'gaid\tbbb\t0\t-0.0\t1,x,3\r', // 5 ok, app warning, CRLF
    'zzzz\tx\t1\t2\t3', // 6 type
    'adid\ta b\t1\t2\t3', // 7 key
    'dvid\tq\tnan\t1\t', // 8 geo
    '\tq\t1\t1\t', // 9 empty
    `dvid\tq\t1\t1\t${'1,'.repeat(100)}1`, // 10 too_long (max 150)
    'dvid\tccc\t.5\t1e3\t', // 11 ok, no newline at the end
  ].join('\n');

  it('counts lines, non-blank lines, records, rejects by reason and warnings; samples carry line numbers', () => {
    const r = encodeChunk(Buffer.from(mixed), settings({ maxLineBytes: 150 }));
    assert.equal(r.lines, 11);
    assert.equal(r.nonBlank, 9);
    assert.deepEqual(r.records, [1, 1, 0, 1]);
    assert.deepEqual(r.rejected, { fields: 1, type: 1, key: 1, geo: 1, empty: 1, too_long: 1 });
    assert.equal(r.appWarnings, 1);
    assert.deepEqual(r.samples, [
      { line: 3, reason: 'fields', detail: { field: 'line', value: 'gaid\\tx\\t1\\t2', text: '4 fields, not 5: "gaid\\tx\\t1\\t2"' } },
      { line: 5, reason: 'apps', detail: { field: 'apps', value: 'x', text: 'dropped 1 app id(s) that are not uint32 numbers: "x"' } },
      { line: 6, reason: 'type', detail: { field: 'dev_type', value: 'zzzz', text: '"zzzz" has no server' } },
      {
        line: 7,
        reason: 'key',
        detail: { field: 'dev_id', value: 'a b', text: 'dev_id "a b" holds a space, control byte or DEL (byte 2), which a memcached key cannot' },
      },
      { line: 8, reason: 'geo', detail: { field: 'lat', value: 'nan', text: 'lat "nan" is not a number' } },
      { line: 9, reason: 'empty', detail: { field: 'dev_type', value: '', text: 'dev_type is empty' } },
      { line: 10, reason: 'too_long', detail: { field: 'line', value: null, bytes: 212, text: 'the line is 212 bytes, over --max-line-bytes 150' } },
    ]);
    assert.equal(r.dryText, null);
    assert.deepEqual(framesByServer(r), [
      [['idfa:aaa', protobufjsHex([10, 20], 1.5, -2)]],
      [['gaid:bbb', protobufjsHex([1, 3], 0, -0)]],
      [],
      [['dvid:ccc', protobufjsHex([], 0.5, 1000)]],
    ]);
    assert.equal(r.frames[2], null);
  });

  it('maxSamples caps the samples, not the counts', () => {
    const r = encodeChunk(Buffer.from(mixed), settings({ maxLineBytes: 150, maxSamples: 2 }));
    assert.deepEqual(
      r.samples.map((x) => [x.line, x.reason, x.detail.field]),
      [
        [3, 'fields', 'line'],
        [5, 'apps', 'apps'],
      ],
    );
    assert.equal(r.nonBlank, 9);
    assert.equal(Object.values(r.rejected).reduce((a, b) => a + b, 0), 6);
  });

  it('a trailing newline does not make an extra line; blank-only and empty chunks', () => {
    assert.equal(encodeChunk(Buffer.from('idfa\ta\t1\t2\t3\n'), settings()).lines, 1);
    const blanks = encodeChunk(Buffer.from('\n\r\n \n'), settings());
    assert.deepEqual([blanks.lines, blanks.nonBlank, blanks.frames], [3, 0, [null, null, null, null]]);
    const empty = encodeChunk(new Uint8Array(0), settings());
    assert.deepEqual([empty.lines, empty.nonBlank, empty.records, empty.frames], [0, 0, [0, 0, 0, 0], [null, null, null, null]]);
  });

  it('ttl adds the T flag to every frame', () => {
    const r = encodeChunk(Buffer.from('idfa\ta\t1\t2\t3\nidfa\tb\t1\t2\t3\n'), settings({ ttl: 60 }));
    assert.deepEqual(framesByServer(r, 'q T60')[0]!.map(([k]) => k), ['idfa:a', 'idfa:b']);
  });

  it('packed values decode to the same messages', () => {
    const r = encodeChunk(fixture.get(FILES[0]!)!, settings({ packed: true }));
    const want = goldenByServer([FILES[0]!]);
    framesByServer(r).forEach((frames, s) => {
      assert.equal(frames.length, want[s]!.length);
      frames.forEach(([key, hex], i) => {
        const [wantKey, wantHex] = want[s]![i]!;
        assert.equal(key, wantKey);
        const got = UserApps.toObject(UserApps.decode(Buffer.from(hex, 'hex')));
        assert.deepEqual(got, UserApps.toObject(UserApps.decode(Buffer.from(wantHex, 'hex'))));
        assert.ok(hex.length < wantHex.length);
      });
    });
  });
});

describe('encodeChunk: output buffers', () => {
  // A frame is the scratch buffer it was encoded in, handed over (no copy): its ArrayBuffer may
  // be longer than the frame, but holds nothing else, so transferring it moves only this frame.
  it('each frame is at offset 0 of an ArrayBuffer of its own, transferable', () => {
    const input = fixture.get(FILES[0]!)!;
    const r = encodeChunk(input, settings());
    const buffers = new Set<ArrayBufferLike>([input.buffer]);
    for (const f of r.frames) {
      assert.ok(f !== null);
      assert.equal(f.byteOffset, 0);
      assert.ok(!buffers.has(f.buffer), 'no ArrayBuffer is shared with another frame or the input');
      buffers.add(f.buffer);
      const bytes = Buffer.from(f).toString('hex');
      const moved = new Uint8Array(structuredClone(f.buffer, { transfer: [f.buffer as ArrayBuffer] }), 0, bytes.length / 2);
      assert.equal(f.byteLength, 0, 'transfer detaches the original');
      assert.equal(Buffer.from(moved).toString('hex'), bytes);
    }
  });

  it('a later chunk does not touch an earlier result (scratch is reused)', () => {
    const first = encodeChunk(fixture.get(FILES[0]!)!, settings());
    const before = first.frames.map((f) => Buffer.from(f!).toString('hex'));
    encodeChunk(fixture.get(FILES[1]!)!, settings());
    assert.deepEqual(first.frames.map((f) => Buffer.from(f!).toString('hex')), before);
  });

  it('accepts a plain Uint8Array view at any offset', () => {
    const text = fixture.get(FILES[1]!)!;
    const backing = new Uint8Array(text.length + 7);
    backing.set(text, 7);
    const r = encodeChunk(backing.subarray(7), settings());
    assert.deepEqual(framesByServer(r), goldenByServer([FILES[1]!]));
  });

  it('dry mode: one `label\\tkey\\tjson` line per record in line order, no frames', () => {
    const input = 'idfa\t1rfw452y52g2gq4g\t55.55\t42.42\t1423,43,567,3,7,23\nbad\ndvid\tzz\t-0\t1e21\t\ngaid\té\t1\t2\t0,10,99,100,4294967295\n';
    const r = encodeChunk(Buffer.from(input), settings({ dry: true }));
    assert.deepEqual(r.frames, [null, null, null, null]);
    assert.deepEqual(r.records, [1, 1, 0, 1]);
    assert.ok(r.dryText !== null);
    assert.equal(
      Buffer.from(r.dryText).toString('utf8'),
      '10.0.0.1:1\tidfa:1rfw452y52g2gq4g\t{"apps":[1423,43,567,3,7,23],"lat":55.55,"lon":42.42}\n' +
        '10.0.0.4:4\tdvid:zz\t{"apps":[],"lat":0,"lon":1e+21}\n' +
        '10.0.0.2:2\tgaid:é\t{"apps":[0,10,99,100,4294967295],"lat":1,"lon":2}\n',
    );
  });
});

describe('encodeChunk: property', () => {
  const id = fc
    .array(fc.integer({ min: 0x21, max: 0x7e }), { minLength: 1, maxLength: 40 })
    .map((cs) => String.fromCharCode(...cs));
  const rec = fc.record({
    type: fc.nat(3),
    id,
    lat: fc.double({ noNaN: true, noDefaultInfinity: true }),
    lon: fc.double({ min: -180, max: 180, noNaN: true }),
    apps: fc.array(fc.nat({ max: 4294967295 }), { maxLength: 60 }),
  });
  const line = fc.oneof(
    { weight: 8, arbitrary: rec },
    { weight: 1, arbitrary: fc.constantFrom('', '   ', 'idfa\tx', 'nope\tx\t1\t2\t3', 'idfa\tx\ty\t1\t2') },
  );

  // String(-0) is "0"; the line must say "-0" for the value to keep its sign.
  const num = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

  it('random chunks: frames hold exactly the expected keys and protobufjs values, per server, in order; dry text matches JSON.stringify', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 80 }), fc.boolean(), fc.boolean(), (items, crlf, finalNewline) => {
        const want: [string, string][][] = DEVICE_TYPES.map(() => []);
        let wantDry = '';
        const text = items.map((it) => {
          if (typeof it === 'string') return it;
          want[it.type]!.push([`${DEVICE_TYPES[it.type]}:${it.id}`, protobufjsHex(it.apps, it.lat, it.lon)]);
          const json = JSON.stringify({ apps: it.apps, lat: it.lat, lon: it.lon });
          wantDry += `${LABELS[it.type]}\t${DEVICE_TYPES[it.type]}:${it.id}\t${json}\n`;
          return `${DEVICE_TYPES[it.type]}\t${it.id}\t${num(it.lat)}\t${num(it.lon)}\t${it.apps.join(',')}`;
        });
        const eol = crlf ? '\r\n' : '\n';
        const input = text.join(eol) + (finalNewline && text.length > 0 ? eol : '');
        const r = encodeChunk(Buffer.from(input, 'latin1'), settings());
        assert.deepEqual(framesByServer(r), want);
        const blanks = items.filter((it) => it === '' || it === '   ').length;
        const bad = items.filter((it) => typeof it === 'string').length - blanks;
        // An empty last line without a newline has no bytes, hence is no line.
        const lines = input === '' ? 0 : input.split('\n').length - (input.endsWith('\n') ? 1 : 0);
        assert.equal(r.lines, lines);
        assert.equal(r.nonBlank, items.length - blanks);
        assert.equal(Object.values(r.rejected).reduce((a, b) => a + b, 0), bad);
        const dry = encodeChunk(Buffer.from(input, 'latin1'), settings({ dry: true }));
        assert.equal(Buffer.from(dry.dryText!).toString('latin1'), wantDry);
      }),
      { numRuns: 300 },
    );
  });
});
