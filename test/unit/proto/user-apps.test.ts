import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { ERROR_CODES } from '../../../src/errors.js';
import { decodeUserApps, encodeUserApps } from '../../../src/proto/user-apps.js';
import { parseLineString } from '../../../src/record/parse-line.js';
import { repoRoot } from '../../helpers/paths.js';

const ROOT = repoRoot();
const UserApps = protobuf.loadSync(join(ROOT, 'appsinstalled.proto')).lookupType('UserApps');
// The same message with apps packed, for comparing our --packed bytes with an independent encoder.
const PackedUserApps = protobuf
  .parse('syntax = "proto2"; message UserApps { repeated uint32 apps = 1 [packed = true]; optional double lat = 2; optional double lon = 3; }')
  .root.lookupType('UserApps');

interface Msg {
  apps: number[];
  lat: number;
  lon: number;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function protobufjsDecode(bytes: Uint8Array): Msg {
  const o = UserApps.toObject(UserApps.decode(bytes), { defaults: true }) as Msg;
  return { apps: o.apps, lat: o.lat, lon: o.lon };
}

function assertSameMessage(actual: Msg, expected: Msg): void {
  assert.deepEqual(actual.apps, expected.apps);
  assert.ok(Object.is(actual.lat, expected.lat), `lat ${actual.lat} vs ${expected.lat}`);
  assert.ok(Object.is(actual.lon, expected.lon), `lon ${actual.lon} vs ${expected.lon}`);
}

const GOLDEN_LINE = 'idfa\t1rfw452y52g2gq4g\t55.55\t42.42\t1423,43,567,3,7,23';
const GOLDEN_HEX = '088f0b082b08b704080308070817116666666666c64b4019f6285c8fc2354540';

describe('UserApps encoder: golden bytes from Google protobuf', () => {
  it('SPEC.md golden vector', () => {
    const [, , lat, lon, apps] = GOLDEN_LINE.split('\t') as [string, string, string, string, string];
    assert.equal(hex(encodeUserApps({ apps: apps.split(',').map(Number), lat: Number(lat), lon: Number(lon) })), GOLDEN_HEX);
  });

  it('all 200 fixture lines: key and value', () => {
    const golden = new Map<string, { key: string; hex: string }>();
    for (const row of readFileSync(join(ROOT, 'test/fixtures/head100.golden.tsv'), 'utf8').split('\n')) {
      if (row === '' || row.startsWith('#')) continue;
      const [file, line, key, value] = row.split('\t') as [string, string, string, string];
      golden.set(`${file}:${line}`, { key, hex: value });
    }
    assert.equal(golden.size, 200);
    let checked = 0;
    for (const file of ['20170929000000.head100.tsv.gz', '20170929000200.head100.tsv.gz']) {
      const lines = gunzipSync(readFileSync(join(ROOT, 'test/fixtures', file))).toString('utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      lines.forEach((text, i) => {
        const want = golden.get(`${file}:${i + 1}`);
        assert.ok(want, `${file}:${i + 1} has no golden value`);
        const r = parseLineString(text);
        assert.equal(typeof r, 'object', `${file}:${i + 1} rejected: ${String(r)}`);
        if (typeof r !== 'object') return;
        assert.equal(r.key, want.key);
        assert.equal(hex(encodeUserApps(r)), want.hex, `${file}:${i + 1}`);
        checked++;
      });
    }
    assert.equal(checked, 200);
  });

  it('lat and lon are written even when zero; -0 keeps its sign bit', () => {
    assert.equal(hex(encodeUserApps({ apps: [], lat: 0, lon: -0 })), '1100000000000000001900000000000000' + '80');
  });

  it('packed: one length-delimited field, omitted without apps', () => {
    assert.equal(hex(encodeUserApps({ apps: [1, 300], lat: 0, lon: 0 }, { packed: true })), '0a0301ac02' + '110000000000000000' + '190000000000000000');
    assert.equal(hex(encodeUserApps({ apps: [], lat: 0, lon: 0 }, { packed: true })), '110000000000000000190000000000000000');
  });

  it('rejects app ids that are not uint32', () => {
    for (const bad of [-1, 4294967296, 1.5, NaN]) {
      assert.throws(() => encodeUserApps({ apps: [bad], lat: 0, lon: 0 }), { code: ERROR_CODES.INVALID_ARG });
    }
  });
});

describe('UserApps encoder against protobufjs', () => {
  it('protobufjs writes proto2 repeated uint32 unpacked, like Google', () => {
    assert.equal(UserApps.fields.apps?.packed, false);
    assert.equal(hex(UserApps.encode(UserApps.create({ apps: [1423, 43, 567, 3, 7, 23], lat: 55.55, lon: 42.42 })).finish()), GOLDEN_HEX);
  });

  const appId = fc.oneof(
    fc.constantFrom(0, 1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, 268435456, 4294967295),
    fc.nat({ max: 4294967295 }),
    fc.nat({ max: 9998 }),
  );
  const geo = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308, Number.MAX_VALUE, -Number.MAX_VALUE),
    fc.double({ min: -180, max: 180, noNaN: true }),
  );
  const msg = fc.record({ apps: fc.array(appId, { maxLength: 150 }), lat: geo, lon: geo });

  it('unpacked bytes equal protobufjs’s for any message', () => {
    fc.assert(
      fc.property(msg, (m) => {
        assert.equal(hex(encodeUserApps(m)), hex(UserApps.encode(UserApps.create(m)).finish()));
      }),
      { numRuns: 3000 },
    );
  });

  it('packed bytes equal protobufjs’s packed encoding, and decode to the same message', () => {
    fc.assert(
      fc.property(msg, (m) => {
        const ours = encodeUserApps(m, { packed: true });
        assert.equal(hex(ours), hex(PackedUserApps.encode(PackedUserApps.create(m)).finish()));
        assertSameMessage(protobufjsDecode(ours), m);
      }),
      { numRuns: 3000 },
    );
  });

  it('protobufjs decodes our unpacked bytes to the same message', () => {
    fc.assert(
      fc.property(msg, (m) => assertSameMessage(protobufjsDecode(encodeUserApps(m)), m)),
      { numRuns: 1000 },
    );
  });
});

describe('decodeUserApps', () => {
  const msg = fc.record({
    apps: fc.array(fc.nat({ max: 4294967295 }), { maxLength: 60 }),
    lat: fc.double({ noNaN: true }),
    lon: fc.double({ noNaN: true }),
  });

  it('decodes protobufjs’s unpacked and packed encodings', () => {
    fc.assert(
      fc.property(msg, (m) => {
        assertSameMessage(decodeUserApps(UserApps.encode(UserApps.create(m)).finish()), m);
        assertSameMessage(decodeUserApps(PackedUserApps.encode(PackedUserApps.create(m)).finish()), m);
      }),
      { numRuns: 1000 },
    );
  });

  it('skips unknown fields, defaults missing lat/lon to 0, keeps the low 32 bits of long varints', () => {
    // field 4 varint 1; field 5 fixed32; field 6 bytes "ab"; apps = 2^32 + 5 as a 5-byte varint
    const buf = Buffer.from('2001' + '2d01020304' + '32026162' + '088580808010', 'hex');
    assert.deepEqual(decodeUserApps(buf), { apps: [5], lat: 0, lon: 0 });
  });

  it('throws a typed error on truncated input', () => {
    for (const h of ['08', '0880', '1100', '0a05010203', '19000000']) {
      assert.throws(() => decodeUserApps(Buffer.from(h, 'hex')), { code: ERROR_CODES.INVALID_ARG }, h);
    }
  });
});
