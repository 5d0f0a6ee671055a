/**
 * The encoder's fast path (src/pipeline/fast-line.ts) must take the clean lines it was made for,
 * decline every other line, and write for the lines it takes exactly the bytes the general path
 * writes. Each case runs the same chunk through encodeChunk with the fast path on and off, and
 * with the native encoder (pipeline/native-encode.ts), which must agree with both; `taken` asks
 * both fast paths.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEVICE_TYPES } from '../../../src/config/servers.js';
import type { ChunkResult, EncodeSettings } from '../../../src/pipeline/chunk-types.js';
import { encodeChunk } from '../../../src/pipeline/encode-chunk.js';
import { FAST_MAX_LINE, FAST_OUT_ROOM, encodeCleanLine, fastResult, peekType } from '../../../src/pipeline/fast-line.js';
import { metaSetFlags } from '../../../src/memcached/encode.js';
import { encodeSettings, plainResult } from '../../helpers/encode.js';
import { nativeEncodeReady } from '../../helpers/native-encode.js';
import { nativeRun } from '../../../src/pipeline/native-encode.js';

// Without the addon (and outside CI) the JS paths are still compared; CI fails here instead.
const native = nativeEncodeReady();
it('the native encoder is here to be compared', { skip: native.skip }, () => assert.ok(native.ok));

function bothPaths(chunk: Buffer, s: EncodeSettings = encodeSettings()): ChunkResult {
  const slow = encodeChunk(chunk, s, false);
  const fast = encodeChunk(chunk, { ...s, encoder: 'js' }, true);
  assert.deepEqual(plainResult(fast), plainResult(slow));
  if (native.ok) assert.deepEqual(plainResult(encodeChunk(chunk, { ...s, encoder: 'native' }, true)), plainResult(slow), 'native');
  return fast;
}

/** Whether the fast path takes `line` (given without its newline) on its own. */
function taken(line: string, maxLine = FAST_MAX_LINE, ttl = 0): boolean {
  const input = Buffer.from(`${line}\n`, 'latin1');
  const type = peekType(input, 0);
  if (type < 0) return false;
  const out = new Uint8Array(FAST_OUT_ROOM + 64);
  const next = encodeCleanLine(input, new DataView(input.buffer, input.byteOffset, input.byteLength), 0, out, new DataView(out.buffer), 0, metaSetFlags(ttl), maxLine);
  if (native.ok) {
    const outs = Array.from({ length: 4 }, () => new Uint8Array(FAST_OUT_ROOM + 64));
    const state = new Int32Array(9);
    const stop = nativeRun()(input, 0, input.length - 1, maxLine, metaSetFlags(ttl), outs[0], outs[1], outs[2], outs[3], state);
    assert.equal(stop, next < 0 ? 0 : next, 'the native encoder takes the same lines');
    if (next >= 0) assert.deepEqual(outs[type].subarray(0, state[type]), out.subarray(0, fastResult.end), 'and writes the same bytes');
  }
  if (next < 0) return false;
  assert.equal(next, input.length, 'a taken line ends after its newline');
  assert.ok(fastResult.end > 0);
  return true;
}

const apps = (n: number, id = 1234): string => Array.from({ length: n }, (_, i) => String(id + i)).join(',');

describe('fast path: clean lines are taken, with the general path\'s bytes', () => {
  const clean: [string, string][] = [
    ['typical', `idfa\t1rfw452y52g2gq4g\t55.55\t42.42\t${apps(40)}`],
    ['every device type', DEVICE_TYPES.map((t) => `${t}\tid-${t}\t1\t2\t3`).join('\n')],
    ['no apps (a zero-byte field)', 'gaid\tabc\t0\t0\t'],
    ['negative zero and zero', 'adid\tx\t-0\t0.000\t1'],
    ['a leading dot and a trailing dot', 'dvid\tx\t.5\t5.\t1'],
    ['15 significant digits', 'idfa\tx\t123456789.012345\t-0.00000000000001\t1'],
    ['ids at 0, 127, 128, 16383, 16384 and 9 digits', 'idfa\tx\t1\t2\t0,127,128,16383,16384,999999999,007'],
    ['a value under 100 bytes (2-digit length)', 'idfa\tx\t1\t2\t1,2,3'],
    ['a value of 1000 bytes or more (4-digit length)', `idfa\tx\t1\t2\t${apps(400)}`],
    ['a value of 10000 bytes or more (5-digit length)', `idfa\tx\t1\t2\t${apps(3400)}`],
    ['an id of 245 bytes (a 250-byte key)', `idfa\t${'k'.repeat(245)}\t1\t2\t3`],
    ['non-ASCII id bytes', 'idfa\t\u00e9\u00ff\u0080\t1\t2\t3'],
    ['every key byte (0x21-0xff but 0x7f), of every length to 40', Array.from({ length: 40 }, (_, n) => `gaid\t${Array.from({ length: 222 }, (_, b) => String.fromCharCode(b < 94 ? 0x21 + b : 0x22 + b)).join('').slice(n % 200, (n % 200) + n + 1)}\t1\t2\t3`).join('\n')],
  ];
  for (const [name, text] of clean) {
    it(name, () => {
      for (const line of text.split('\n')) assert.ok(taken(line), `taken: ${JSON.stringify(line.slice(0, 80))}`);
      const r = bothPaths(Buffer.from(`${text}\n`, 'latin1'));
      assert.equal(r.records.reduce((a, b) => a + b, 0), text.split('\n').length);
    });
  }

  it('every app id from 0 to 99,999, and 1 to 9 digits with leading zeros', () => {
    // Every varint length the fast path writes without a loop (1 and 2 bytes) and past it, each
    // id in four alignments: the general path's bytes for all of them.
    const lines: string[] = [];
    for (let first = 0; first < 100_000; first += 100) lines.push(`gaid\tall-ids\t1\t2\t${apps(100, first)}`);
    for (let shift = 0; shift < 4; shift++) {
      const pad = 'k'.repeat(1 + shift);
      lines.push(`idfa\t${pad}\t1\t2\t${['0', '00', '007', '0042', '00099', '000000', '0001234', '00000000', '000000001', '1234', '12345', '999999999'].join(',')}`);
    }
    for (const line of lines) assert.ok(taken(line), `taken: ${line.slice(0, 60)}`);
    const r = bothPaths(Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
    assert.equal(r.records.reduce((a, b) => a + b, 0), lines.length);
  });

  it('with a ttl flag in the header', () => {
    assert.ok(taken('idfa\tx\t1\t2\t3', FAST_MAX_LINE, 3600));
    bothPaths(Buffer.from(`idfa\tx\t1\t2\t${apps(30)}\ngaid\ty\t3\t4\t\n`, 'latin1'), encodeSettings({ ttl: 3600 }));
  });
});

describe('fast path: every other line is declined and judged by the general path', () => {
  const declined: [string, string][] = [
    ['a carriage return before the newline', 'idfa\tx\t1\t2\t3\r'],
    ['a sixth field', 'idfa\tx\t1\t2\t3\t4'],
    ['four fields', 'idfa\tx\t1\t2'],
    ['an unknown device type', 'idfb\tx\t1\t2\t3'],
    ['a device type with a space', ' idfa\tx\t1\t2\t3'],
    ['an empty id', 'idfa\t\t1\t2\t3'],
    ['an id with a space', 'idfa\ta b\t1\t2\t3'],
    ['an id with DEL', 'idfa\ta\u007fb\t1\t2\t3'],
    ['an id of 246 bytes (a 251-byte key)', `idfa\t${'k'.repeat(246)}\t1\t2\t3`],
    ['an id of 100,000 bytes, longer than the room reserved for a frame', `idfa\t${'k'.repeat(100_000)}\t1\t2\t3`],
    ['an exponent', 'idfa\tx\t1e5\t2\t3'],
    ['a plus sign', 'idfa\tx\t+1\t2\t3'],
    ['a space around a number', 'idfa\tx\t 1\t2\t3'],
    ['16 significant digits', 'idfa\tx\t1234567890.123456\t2\t3'],
    ['no digits', 'idfa\tx\t-.\t2\t3'],
    ['an empty coordinate', 'idfa\tx\t\t2\t3'],
    ['an empty app id', 'idfa\tx\t1\t2\t1,,2'],
    ['a trailing comma', 'idfa\tx\t1\t2\t1,2,'],
    ['a 10-digit app id', 'idfa\tx\t1\t2\t4294967295'],
    ['a too-big app id', 'idfa\tx\t1\t2\t4294967296'],
    ['a spaced app id', 'idfa\tx\t1\t2\t1, 2'],
    ['a letter in the apps', 'idfa\tx\t1\t2\t1,2a'],
    ['a blank line', '   '],
  ];
  for (const [name, line] of declined) {
    it(name, () => {
      assert.equal(taken(line), false);
      // Between clean lines, so both paths must also agree on what surrounds it.
      bothPaths(Buffer.from(`idfa\ta\t1\t2\t3\n${line}\ngaid\tb\t3\t4\t5\n`, 'latin1'));
    });
  }

  it('a line longer than the line limit, or than FAST_MAX_LINE', () => {
    const line = `idfa\tx\t1\t2\t${apps(40)}`;
    assert.equal(taken(line, line.length), true);
    assert.equal(taken(line, line.length - 1), false);
    bothPaths(Buffer.from(`${line}\n`), encodeSettings({ maxLineBytes: line.length - 1 }));
    const huge = `idfa\tx\t1\t2\t${apps(FAST_MAX_LINE / 5 + 10, 10000)}`;
    assert.ok(huge.length > FAST_MAX_LINE);
    assert.equal(taken(huge), false);
    assert.equal(bothPaths(Buffer.from(`${huge}\n`)).records[0], 1);
  });

  it('a byte no key may hold, at every place of a long id (the id is copied four bytes at a time)', () => {
    for (const bad of [0x00, 0x01, 0x0b, 0x0d, 0x1f, 0x20, 0x7f]) {
      for (let at = 0; at < 13; at++) {
        const id = `${'k\u00ff!~'.repeat(4).slice(0, at)}${String.fromCharCode(bad)}${'k'.repeat(12 - at)}`;
        const line = `idfa\t${id}\t1\t2\t3`;
        assert.equal(taken(line), false, `byte ${bad} at ${at}`);
        bothPaths(Buffer.from(`gaid\tb\t3\t4\t5\n${line}\ngaid\tb\t3\t4\t5\n`, 'latin1'));
      }
    }
  });

  it('the last line of a chunk without its newline', () => {
    const r = bothPaths(Buffer.from('idfa\ta\t1\t2\t3\ngaid\tb\t3\t4\t5', 'latin1'));
    assert.deepEqual(r.records, [1, 1, 0, 0]);
  });

  it('packed and dry runs do not use it', () => {
    const chunk = Buffer.from(`idfa\ta\t1\t2\t${apps(20)}\n`, 'latin1');
    bothPaths(chunk, encodeSettings({ packed: true }));
    bothPaths(chunk, encodeSettings({ dry: true }));
  });
});

describe('fast path: generated clean lines', () => {
  const coordinate = fc.oneof(
    fc.double({ min: -180, max: 180, noNaN: true }).map(String),
    fc.tuple(fc.boolean(), fc.stringMatching(/^\d{0,9}$/), fc.boolean(), fc.stringMatching(/^\d{0,9}$/))
      .filter(([, a, dot, b]) => a.length + (dot ? b.length : 0) > 0)
      .map(([neg, a, dot, b]) => `${neg ? '-' : ''}${a}${dot ? `.${b}` : ''}`),
  );
  const record = fc.record({
    type: fc.constantFrom(...DEVICE_TYPES),
    id: fc.stringMatching(/^[!-~]{1,60}$/),
    lat: coordinate,
    lon: coordinate,
    apps: fc.array(fc.oneof(fc.nat({ max: 20000 }), fc.nat({ max: 999_999_999 })), { maxLength: 200 }),
  });
  // The fast path's own rule for coordinates, written plainly: no exponent, 1..15 digits.
  const simple = (c: string): boolean => /^-?(\d+\.?\d*|\.\d+)$/.test(c) && c.replace(/[-.]/g, '').length <= 15;

  it('are taken exactly when their coordinates are simple, and written as the general path writes them', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 30 }), fc.constantFrom(0, 60), (records, ttl) => {
        const lines = records.map((r) => `${r.type}\t${r.id}\t${r.lat}\t${r.lon}\t${r.apps.join(',')}`);
        for (const [i, r] of records.entries()) assert.equal(taken(lines[i] as string), simple(r.lat) && simple(r.lon), lines[i]);
        const result = bothPaths(Buffer.from(`${lines.join('\n')}\n`, 'latin1'), encodeSettings({ ttl }));
        assert.equal(result.records.reduce((a, b) => a + b, 0), lines.length);
      }),
      { numRuns: 300 },
    );
  });
});
