/**
 * Fuzzing the line → wire path (issue #4: hostile lines never reach the wire as protocol).
 * test/unit/record/parse-line.test.ts already holds the parser to the SPEC model on short random
 * lines; here the inputs are valid lines with hostile mutations, and whole chunks of them go
 * through encodeChunk, whose output must be well-formed meta sets with valid keys only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEVICE_TYPES } from '../../../src/config/servers.js';
import type { EncodeSettings } from '../../../src/pipeline/chunk-types.js';
import { encodeChunk } from '../../../src/pipeline/encode-chunk.js';
import { ParsedLine, parseLine } from '../../../src/record/parse-line.js';
import { encodeSettings, plainResult } from '../../helpers/encode.js';
import { decode } from '../../helpers/oracle.js';
import { judgeLine, type SpecRecord } from '../../helpers/spec-model.js';
import { fuzz } from './budget.js';

const MiB = 1024 * 1024;
const HOSTILE_BYTES = [0x00, 0x01, 0x08, 0x09, 0x0a, 0x0b, 0x0d, 0x1b, 0x20, 0x2c, 0x2e, 0x2d, 0x7f, 0x80, 0xc3, 0xff, 0x30, 0x39, 0x65];

/** A line as SPEC.md wants it, as latin1 text without its newline. */
const validLine = fc
  .record({
    type: fc.constantFrom(...DEVICE_TYPES),
    id: fc.stringMatching(/^[0-9a-f]{1,40}$/),
    lat: fc.double({ min: -180, max: 180, noNaN: true }),
    lon: fc.double({ min: -180, max: 180, noNaN: true }),
    apps: fc.array(fc.nat({ max: 9998 }), { maxLength: 30 }),
  })
  .map((r) => `${r.type}\t${r.id}\t${r.lat}\t${r.lon}\t${r.apps.join(',')}`);

type Mutation =
  | { readonly op: 'insert'; readonly at: number; readonly bytes: number[] }
  | { readonly op: 'delete'; readonly at: number; readonly n: number }
  | { readonly op: 'set'; readonly at: number; readonly byte: number }
  | { readonly op: 'repeat'; readonly at: number; readonly n: number };

const hostileByte = fc.oneof(fc.constantFrom(...HOSTILE_BYTES), fc.integer({ min: 0, max: 255 }));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(hostileByte, { minLength: 1, maxLength: 4 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: hostileByte }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 300 }) }),
);

function mutate(line: string, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(line, 'latin1');
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
    else if (m.op === 'set' && at < b.length) b[at] = m.byte;
    else if (m.op === 'repeat' && at < b.length) b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.n, b[at]), b.subarray(at)]);
  }
  return b;
}

const mutatedLine = fc.tuple(validLine, fc.array(mutation, { maxLength: 4 })).map(([l, ms]) => mutate(l, ms));

function validKey(key: Buffer): boolean {
  return key.length > 0 && key.length <= 250 && key.every((c) => c > 0x20 && c !== 0x7f);
}

describe('fuzz: parseLine on mutated lines', () => {
  const out = new ParsedLine(4);

  it('never throws, agrees with the SPEC model, and accepts only keys memcached can carry', (t) => {
    fuzz(
      t,
      fc.property(mutatedLine, fc.constantFrom(MiB, 80, 300), (bytes, max) => {
        // parseLine gets one line: the caller splits on LF, so an LF inside is the end.
        const nl = bytes.indexOf(0x0a);
        const line = nl < 0 ? bytes : bytes.subarray(0, nl);
        const buf = Buffer.concat([Buffer.from('junk\n'), line, Buffer.from('\nmore')]);
        const start = 5;
        const end = start + line.length;
        const status = parseLine(buf, start, end, max, out);
        const spec = judgeLine(line.toString('latin1'), max);
        if (typeof spec === 'string') {
          assert.equal(status, spec);
          return;
        }
        assert.equal(status, 'ok');
        assert.ok(out.idStart > start && out.idStart <= out.idEnd && out.idEnd < end, 'the id lies inside the line');
        const key = Buffer.concat([Buffer.from(`${DEVICE_TYPES[out.type]}:`), buf.subarray(out.idStart, out.idEnd)]);
        assert.ok(validKey(key), JSON.stringify(key.toString('latin1')));
        assert.equal(key.toString('latin1'), spec.key);
        assert.ok(Object.is(out.lat, spec.lat) && Object.is(out.lon, spec.lon));
        assert.deepEqual(Array.from(out.apps.subarray(0, out.appCount)), spec.apps);
        assert.equal(out.droppedApps, spec.dropped);
      }),
    );
  });
});

describe('fuzz: encodeChunk on chunks of mutated lines', () => {
  const settings = (maxLineBytes: number): EncodeSettings => encodeSettings({ maxLineBytes, maxSamples: 5 });

  /** Reads `ms <key> <len> q\r\n<data>\r\n … mn\r\n` strictly; anything else fails. */
  function readFrames(frames: Uint8Array): { key: Buffer; value: Buffer }[] {
    const b = Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength);
    const out: { key: Buffer; value: Buffer }[] = [];
    let p = 0;
    for (;;) {
      if (b.subarray(p).equals(Buffer.from('mn\r\n'))) return out;
      assert.equal(b.toString('latin1', p, p + 3), 'ms ', `a frame starts with "ms " at byte ${p}`);
      const eol = b.indexOf('\r\n', p);
      const header = b.subarray(p + 3, eol);
      const sp1 = header.indexOf(0x20);
      const key = header.subarray(0, sp1);
      const rest = header.subarray(sp1 + 1).toString('latin1');
      const m = /^(0|[1-9]\d*) q$/.exec(rest);
      assert.ok(m, `header flags: ${JSON.stringify(rest)}`);
      assert.ok(validKey(key), `key ${JSON.stringify(key.toString('latin1'))}`);
      const start = eol + 2;
      const value = b.subarray(start, start + Number(m[1]));
      assert.equal(b.toString('latin1', start + value.length, start + value.length + 2), '\r\n');
      out.push({ key: Buffer.from(key), value });
      p = start + value.length + 2;
    }
  }

  it('never throws; frames are well-formed, keys valid, one per accepted line, values as the SPEC model says', (t) => {
    const line = fc.oneof({ weight: 4, arbitrary: mutatedLine }, { weight: 1, arbitrary: validLine.map((l) => Buffer.from(l, 'latin1')) });
    fuzz(
      t,
      fc.property(fc.array(line, { maxLength: 25 }), fc.boolean(), fc.constantFrom(MiB, 120), (lines, crlf, max) => {
        const chunk = Buffer.concat(lines.flatMap((l) => [l, Buffer.from(crlf ? '\r\n' : '\n')]));
        const r = encodeChunk(chunk, settings(max));
        // The SPEC model, line by line, over the same bytes.
        const records: SpecRecord[] = [];
        const text = chunk.toString('latin1').split('\n');
        text.pop();
        let nonBlank = 0;
        for (const raw of text) {
          const v = judgeLine(raw, max);
          if (v === 'blank') continue;
          nonBlank++;
          if (typeof v !== 'string') records.push(v);
        }
        assert.equal(r.lines, text.length);
        assert.equal(r.nonBlank, nonBlank);
        for (let s = 0; s < DEVICE_TYPES.length; s++) {
          const want = records.filter((x) => x.typeIndex === s);
          const f = r.frames[s];
          assert.equal(r.records[s], want.length);
          if (want.length === 0) {
            assert.equal(f, null);
            continue;
          }
          const got = readFrames(f as Uint8Array);
          assert.deepEqual(
            got.map((g) => g.key.toString('latin1')),
            want.map((w) => w.key),
          );
          for (const [i, g] of got.entries()) {
            const d = decode(g.value);
            const w = want[i] as SpecRecord;
            assert.deepEqual(d.apps, w.apps);
            assert.ok(Object.is(d.lat, w.lat) && Object.is(d.lon, w.lon));
          }
        }
      }),
    );
  });
});

describe('fuzz: the encoder\'s fast path against the general path', () => {

  it('gives the same result, byte for byte, on chunks of mutated lines', (t) => {
    const line = fc.oneof({ weight: 3, arbitrary: mutatedLine }, { weight: 2, arbitrary: validLine.map((l) => Buffer.from(l, 'latin1')) });
    fuzz(
      t,
      fc.property(fc.array(line, { maxLength: 25 }), fc.boolean(), fc.constantFrom(MiB, 120), fc.constantFrom(0, 3600), (lines, lastNl, max, ttl) => {
        const chunk = Buffer.concat([...lines.flatMap((l) => [l, Buffer.from('\n')]), Buffer.from(lastNl ? '' : 'idfa\tlast\t1\t2\t3')]);
        const s = encodeSettings({ maxLineBytes: max, ttl, maxSamples: 5 });
        assert.deepEqual(plainResult(encodeChunk(chunk, s, true)), plainResult(encodeChunk(chunk, s, false)));
      }),
    );
  });
});
