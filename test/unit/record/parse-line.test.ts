import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEVICE_TYPES } from '../../../src/config/servers.js';
import { DECIMAL, judgeLine } from '../../helpers/spec-model.js';
import { ParsedLine, parseDecimal, parseLine, parseLineString, type LineRecord } from '../../../src/record/parse-line.js';

const MiB = 1024 * 1024;
/** The parser is compared with the shared SPEC.md model (test/helpers/spec-model.ts). */
type Expected = 'blank' | string | { type: number; id: string; lat: number; lon: number; apps: number[]; dropped: boolean };
function oracle(bytes: Uint8Array, maxLineBytes: number): Expected {
  const v = judgeLine(Buffer.from(bytes).toString('latin1'), maxLineBytes);
  if (typeof v === 'string') return v;
  return { type: v.typeIndex, id: v.id, lat: v.lat, lon: v.lon, apps: v.apps, dropped: v.dropped };
}

const scratch = new ParsedLine(4);
function parseBytes(bytes: Uint8Array, maxLineBytes = MiB): Expected {
  // The parser takes a faster path when a byte follows the line; both must agree.
  const followed = Buffer.concat([bytes, Buffer.from('\n')]);
  const withNewline = parseRange(followed, bytes.length, maxLineBytes);
  const atEnd = parseRange(Buffer.from(bytes), bytes.length, maxLineBytes);
  assert.deepEqual(withNewline, atEnd);
  return atEnd;
}

function parseRange(buf: Buffer, end: number, maxLineBytes: number): Expected {
  const status = parseLine(buf, 0, end, maxLineBytes, scratch);
  if (status !== 'ok') return status;
  return {
    type: scratch.type,
    id: buf.toString('latin1', scratch.idStart, scratch.idEnd),
    lat: scratch.lat,
    lon: scratch.lon,
    apps: Array.from(scratch.apps.subarray(0, scratch.appCount)),
    dropped: scratch.droppedApps,
  };
}

function record(line: string): LineRecord {
  const r = parseLineString(line);
  assert.equal(typeof r, 'object', `expected a record for ${JSON.stringify(line)}, got ${String(r)}`);
  return r as LineRecord;
}

describe('parseLineString: SPEC.md table, in order', () => {
  const rows: [name: string, line: string, outcome: string][] = [
    ['empty line', '', 'blank'],
    ['only whitespace', ' \t\r\v\f  ', 'blank'],
    ['CRLF only', '\r\n', 'blank'],
    ['4 fields', 'idfa\tabc\t1\t2', 'fields'],
    ['6 fields', 'idfa\tabc\t1\t2\t3\t4', 'fields'],
    ['6 fields, tab at the end', 'idfa\tabc\t1\t2\t3\t', 'fields'],
    ['6 fields beat empty dev_type and bad geo', '\tabc\tx\ty\t1\t2', 'fields'],
    ['one field', 'idfa', 'fields'],
    ['empty dev_type', '\tabc\t1\t2\t3', 'empty'],
    ['empty dev_id', 'idfa\t\t1\t2\t3', 'empty'],
    ['empty beats bad geo', 'idfa\t\tx\ty\t3', 'empty'],
    ['unknown dev_type', 'xxxx\tabc\t1\t2\t3', 'type'],
    ['dev_type is case-sensitive', 'IDFA\tabc\t1\t2\t3', 'type'],
    ['dev_type is not trimmed', ' idfa\tabc\t1\t2\t3', 'type'],
    ['dev_type prefix', 'idf\tabc\t1\t2\t3', 'type'],
    ['space in dev_id', 'idfa\tab c\t1\t2\t3', 'key'],
    ['NUL in dev_id', 'idfa\tab\x00c\t1\t2\t3', 'key'],
    ['vertical tab in dev_id', 'idfa\tab\x0bc\t1\t2\t3', 'key'],
    ['DEL in dev_id', 'idfa\tab\x7fc\t1\t2\t3', 'key'],
    ['CR inside dev_id', 'idfa\tab\rc\t1\t2\t3', 'key'],
    ['key beats bad geo', 'idfa\tab c\tx\ty\t3', 'key'],
    ['key of 251 bytes', `idfa\t${'a'.repeat(246)}\t1\t2\t3`, 'key'],
    ['nan', 'idfa\tabc\tnan\t2\t3', 'geo'],
    ['NaN', 'idfa\tabc\t1\tNaN\t3', 'geo'],
    ['inf', 'idfa\tabc\tinf\t2\t3', 'geo'],
    ['Infinity', 'idfa\tabc\t1\tInfinity\t3', 'geo'],
    ['decimal comma', 'idfa\tabc\t1,5\t2\t3', 'geo'],
    ['trailing garbage', 'idfa\tabc\t12x\t2\t3', 'geo'],
    ['empty lat', 'idfa\tabc\t\t2\t3', 'geo'],
    ['empty lon', 'idfa\tabc\t1\t\t3', 'geo'],
    ['only spaces', 'idfa\tabc\t  \t2\t3', 'geo'],
    ['lone dot', 'idfa\tabc\t.\t2\t3', 'geo'],
    ['lone sign', 'idfa\tabc\t-\t2\t3', 'geo'],
    ['exponent without digits', 'idfa\tabc\t1e\t2\t3', 'geo'],
    ['double sign', 'idfa\tabc\t--1\t2\t3', 'geo'],
    ['space inside number', 'idfa\tabc\t1 2\t2\t3', 'geo'],
    ['hex', 'idfa\tabc\t0x10\t2\t3', 'geo'],
    ['overflow to infinity', 'idfa\tabc\t1e400\t2\t3', 'geo'],
    ['overflow of a long mantissa', `idfa\tabc\t1${'0'.repeat(400)}\t2\t3`, 'geo'],
    ['tab-like whitespace is not trimmed', 'idfa\tabc\t\v1\t2\t3', 'geo'],
  ];
  for (const [name, line, outcome] of rows) {
    it(`${name} → ${outcome}`, () => assert.equal(parseLineString(line), outcome));
  }

  it('the golden vector line', () => {
    assert.deepEqual(parseLineString('idfa\t1rfw452y52g2gq4g\t55.55\t42.42\t1423,43,567,3,7,23'), {
      type: 'idfa',
      devId: '1rfw452y52g2gq4g',
      key: 'idfa:1rfw452y52g2gq4g',
      lat: 55.55,
      lon: 42.42,
      apps: [1423, 43, 567, 3, 7, 23],
      droppedApps: false,
    });
  });

  it('every device type maps to its server index', () => {
    DEVICE_TYPES.forEach((t, i) => {
      const r = parseBytes(Buffer.from(`${t}\tx\t1\t2\t3`));
      assert.equal(typeof r === 'object' && r.type, i);
    });
  });

  it('key of exactly 250 bytes is kept', () => {
    const r = record(`idfa\t${'a'.repeat(245)}\t1\t2\t3`);
    assert.equal(Buffer.byteLength(r.key), 250);
  });

  it('multi-byte UTF-8 ids count bytes, not characters', () => {
    // `idfa:` is 5 bytes and each é is 2.
    assert.equal(parseLineString(`idfa\t${'é'.repeat(123)}\t1\t2\t3`), 'key');
    assert.equal(record(`idfa\t${'é'.repeat(122)}a\t1\t2\t3`).devId, `${'é'.repeat(122)}a`);
  });

  it('too_long counts the bytes before the newline, CR included', () => {
    const line = `idfa\tabc\t1\t2\t${'1,'.repeat(40)}1`;
    const n = Buffer.byteLength(line);
    assert.equal(typeof parseLineString(line, n), 'object');
    assert.equal(parseLineString(line, n - 1), 'too_long');
    assert.equal(typeof parseLineString(`${line}\n`, n), 'object');
    assert.equal(parseLineString(`${line}\r\n`, n), 'too_long');
    assert.equal(typeof parseLineString(`${line}\r\n`, n + 1), 'object');
  });

  it('blank is checked before too_long, too_long before everything else', () => {
    assert.equal(parseLineString(' '.repeat(100), 10), 'blank');
    assert.equal(parseLineString('x'.repeat(11), 10), 'too_long');
    assert.equal(parseLineString('x'.repeat(10), 10), 'fields');
  });

  it('decimal forms the pattern allows', () => {
    const cases: [string, number][] = [
      ['1e3', 1000], ['-0.0', -0], ['.5', 0.5], ['5.', 5], ['+7', 7], ['-.5e-3', -0.0005],
      ['1E+2', 100], ['  12.25  ', 12.25], ['0e999999', 0], ['-0', -0], ['007.50', 7.5],
      ['123456789012345678901234567890', 1.2345678901234568e29], ['4.9e-324', 5e-324],
      ['1.7976931348623157e308', Number.MAX_VALUE], ['-179.999999', -179.999999],
    ];
    for (const [text, value] of cases) {
      const r = record(`gaid\tabc\t${text}\t${text}\t`);
      assert.ok(Object.is(r.lat, value) && Object.is(r.lon, value), `${text}: got ${r.lat}`);
    }
  });

  it('app ids: trimmed, dropped with a warning when bad, boundaries of uint32', () => {
    const cases: [string, number[], boolean][] = [
      ['', [], false],
      ['4294967295', [4294967295], false],
      ['4294967296', [], true],
      ['99999999999999999999999', [], true],
      ['0,00012', [0, 12], false],
      [' 1 , 2,3 ', [1, 2, 3], false],
      ['1,,2', [1, 2], true],
      ['1,2,', [1, 2], true],
      [',1', [1], true],
      [' ', [], true],
      ['1 2,3', [3], true],
      ['12x,5', [5], true],
      ['-1,+2,3', [3], true],
      ['1.0,2e3,7', [7], true],
      ['5,5,5', [5, 5, 5], false],
      ['1\r,2', [2], true],
    ];
    for (const [apps, ids, dropped] of cases) {
      const r = record(`adid\tabc\t1\t2\t${apps}`);
      assert.deepEqual([r.apps, r.droppedApps], [ids, dropped], JSON.stringify(apps));
    }
  });

  it('CRLF and stray trailing CR/LF are stripped', () => {
    assert.deepEqual(record('dvid\tabc\t1\t2\t3,4\r\n').apps, [3, 4]);
    assert.deepEqual(record('dvid\tabc\t1\t2\t3,4\r\r').apps, [3, 4]);
    assert.deepEqual(record('dvid\tabc\t1\t2\t\r\n').apps, []);
    assert.equal(record('dvid\tabc\t1\t2\t\r\n').droppedApps, false);
  });

  it('many app ids grow the scratch array', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => i * 7919);
    assert.deepEqual(record(`idfa\tabc\t1\t2\t${ids.join(',')}`).apps, ids);
  });
});

describe('parseDecimal', () => {
  it('agrees with the regular expression and Number() on arbitrary short texts', () => {
    const unit = fc.constantFrom('0', '1', '5', '9', '.', 'e', 'E', '+', '-', ' ', 'x', ',');
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 12 }), (chars) => {
        const text = chars.join('');
        const t = text.replace(/^ +| +$/g, '');
        const expected = DECIMAL.test(t) && Number.isFinite(Number(t)) ? Number(t) : NaN;
        const buf = Buffer.from(text, 'latin1');
        assert.ok(Object.is(parseDecimal(buf, 0, buf.length), expected), `${JSON.stringify(text)}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads every finite double printed in any of JS’s formats back exactly', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.nat(20), (v, digits) => {
        const texts = [String(v), v.toExponential(), v.toExponential(digits), v.toPrecision(digits + 1)];
        if (Math.abs(v) < 1e21) texts.push(v.toFixed(digits));
        for (const text of texts) {
          const buf = Buffer.from(text, 'latin1');
          // Rounding to fewer digits can carry past MAX_VALUE ("2e+308"): not finite, so rejected.
          const expected = Number.isFinite(Number(text)) ? Number(text) : NaN;
          assert.ok(Object.is(parseDecimal(buf, 0, buf.length), expected), text);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('parseLine properties', () => {
  const id = fc
    .array(fc.integer({ min: 0x21, max: 0x7e }), { minLength: 1, maxLength: 245 })
    .map((cs) => String.fromCharCode(...cs));
  const spaces = fc.constantFrom('', ' ', '  ');
  const geoText = fc
    .tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.nat(12), fc.constantFrom(0, 1, 2), spaces, spaces)
    .map(([v, d, form, a, b]) => {
      const text = form === 0 ? String(v) : form === 1 ? v.toExponential(d) : Math.abs(v) < 1e21 ? v.toFixed(d) : String(v);
      return { text: a + text + b, value: Number(text) };
    })
    .filter((g) => Number.isFinite(g.value));
  const appId = fc.oneof(fc.constantFrom(0, 1, 127, 128, 9998, 16383, 16384, 4294967295), fc.nat({ max: 4294967295 }));

  it('a line built from valid parts parses to those parts', () => {
    fc.assert(
      fc.property(
        fc.nat(3), id, geoText, geoText, fc.array(fc.tuple(appId, spaces, spaces), { maxLength: 120 }), fc.boolean(),
        (type, devId, lat, lon, apps, crlf) => {
          const appsText = apps.map(([n, a, b]) => `${a}${n}${b}`).join(',');
          const line = `${DEVICE_TYPES[type]}\t${devId}\t${lat.text}\t${lon.text}\t${appsText}${crlf ? '\r\n' : '\n'}`;
          const r = parseBytes(Buffer.from(line, 'latin1').subarray(0, line.length - 1));
          const ids = apps.map(([n]) => n);
          assert.deepEqual(r, { type, id: devId, lat: lat.value, lon: lon.value, apps: ids, dropped: false });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('matches the SPEC oracle on lines made of tricky pieces', () => {
    const piece = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('\t', ',', ' ', '1', '42', '4294967296', '.', 'e', '-', '+', '0') },
      { weight: 3, arbitrary: fc.constantFrom(...DEVICE_TYPES, 'IDFA', 'xx', '') },
      { weight: 1, arbitrary: fc.constantFrom('\r', '\n', '\x00', '\x7f', '\x0b', 'é', '\xff', 'nan', 'inf', 'x') },
      { weight: 1, arbitrary: fc.constantFrom('a'.repeat(240), '9'.repeat(30)) },
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.constantFrom(MiB, 64, 300), (pieces, max) => {
        const bytes = Buffer.from(pieces.join(''), 'latin1');
        assert.deepEqual(parseBytes(bytes, max), oracle(bytes, max), JSON.stringify(pieces.join('')));
      }),
      { numRuns: 10000 },
    );
  });

  it('never throws on arbitrary bytes and only accepts valid keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const r = parseBytes(bytes);
        assert.deepEqual(r, oracle(bytes, MiB));
        if (typeof r === 'object') {
          const key = Buffer.from(`${DEVICE_TYPES[r.type]}:${r.id}`, 'latin1');
          assert.ok(key.length <= 250 && key.every((c) => c > 0x20 && c !== 0x7f));
          assert.ok(Number.isFinite(r.lat) && Number.isFinite(r.lon));
        }
      }),
      { numRuns: 5000 },
    );
  });
});
