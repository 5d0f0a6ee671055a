import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchHeader, SEGMENT_MAGIC, SegmentReader } from '../../../src/cluster/segment-format.js';

const frames = (text: string) => Buffer.from(`${text}mn\r\n`, 'latin1');
const batches = [
  { buf: frames('ms idfa:a 3 q\r\nabc\r\n'), records: 1 },
  { buf: frames(''), records: 1 }, // the smallest a header allows
  { buf: frames('ms gaid:b 2 q\r\nxy\r\nms gaid:c 1 q\r\nz\r\n'), records: 2 },
];
// Built by hand, not by batchHeader: the format itself is what is checked.
const golden = Buffer.concat([
  Buffer.from('MCLSEG1\n', 'latin1'),
  ...batches.flatMap((b) => {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(b.buf.length, 0);
    h.writeUInt32LE(b.records, 4);
    return [h, b.buf];
  }),
]);

test('batchHeader writes length and records, little-endian', () => {
  assert.deepEqual(batchHeader(batches[2]!.buf, 2), golden.subarray(8 + 8 + batches[0]!.buf.length + 8 + batches[1]!.buf.length, 8 + 8 + batches[0]!.buf.length + 8 + batches[1]!.buf.length + 8));
  assert.equal(SEGMENT_MAGIC.toString('latin1'), 'MCLSEG1\n');
});

test('batchHeader refuses a batch without its fence, and a bad record count', () => {
  assert.throws(() => batchHeader(Buffer.from('ms a 1 q\r\nx\r\n'), 1), /mn/);
  assert.throws(() => batchHeader(frames(''), 0), /record count/);
});

test('the reader gives back every batch, wherever the chunks are cut', () => {
  for (let cut = 0; cut <= golden.length; cut++) {
    for (const step of [1, 3, golden.length]) {
      const r = new SegmentReader('s');
      const got = [...r.push(golden.subarray(0, cut))];
      for (let i = cut; i < golden.length; i += step) got.push(...r.push(golden.subarray(i, Math.min(i + step, golden.length))));
      assert.deepEqual(got.map((b) => [Buffer.from(b.buf).toString('latin1'), b.records]), batches.map((b) => [b.buf.toString('latin1'), b.records]), `cut ${cut} step ${step}`);
      assert.deepEqual(r.end(), { bytes: golden.length, records: 4, batches: 3 });
    }
  }
});

test('a batch inside one chunk is a view of it (no copy); one cut across chunks has a buffer of its own', () => {
  const chunk = Buffer.alloc(golden.length); // memory of its own, not Node's shared pool
  golden.copy(chunk);
  const [first] = new SegmentReader('s').push(chunk);
  assert.equal(first!.buf.buffer, chunk.buffer, 'a view of the chunk read');
  assert.equal(first!.buf.byteOffset, 8 + 8);
  assert.equal(Buffer.from(first!.buf).toString('latin1'), batches[0]!.buf.toString('latin1'));
  // Cut inside the first batch's frames: its bytes come from two chunks, so they are copied.
  const cut = 8 + 8 + 5;
  const a = Buffer.from(golden.subarray(0, cut));
  const b = Buffer.from(golden.subarray(cut));
  const r = new SegmentReader('s');
  assert.deepEqual(r.push(a), []);
  const [spanning] = r.push(b);
  a.fill(0);
  b.fill(0);
  assert.equal(Buffer.from(spanning!.buf).toString('latin1'), batches[0]!.buf.toString('latin1'), 'intact after both chunks were overwritten');
});

test('a truncated segment is an error at its end, never a short read', () => {
  for (const n of [0, 3, 12, 16, 8 + 8 + batches[0]!.buf.length + 1, golden.length - 1]) {
    const r = new SegmentReader('seg-x');
    r.push(golden.subarray(0, n));
    assert.throws(() => r.end(), /seg-x: truncated/, `cut at ${n}`);
  }
  // Magic alone is a whole segment of no batch: the manifest's counts are what catch it.
  const r = new SegmentReader('s');
  r.push(golden.subarray(0, 8));
  assert.deepEqual(r.end(), { bytes: 8, records: 0, batches: 0 });
});

test('a foreign or damaged segment is refused', () => {
  assert.throws(() => new SegmentReader('s').push(Buffer.from('MCLSEG2\n')), /not a segment/);
  const zeroLen = Buffer.concat([SEGMENT_MAGIC, Buffer.alloc(8)]);
  assert.throws(() => new SegmentReader('s').push(zeroLen), /damaged batch header/);
  const noFence = Buffer.from(golden);
  noFence[8 + 8 + batches[0]!.buf.length - 3] = 0x78; // the first batch's `mn` becomes `mx`
  assert.throws(() => new SegmentReader('s').push(noFence), /does not end with its mn fence/);
});

test('pushWhole takes only whole batches, as views, and says what the rest needs; the rest handed again completes them', () => {
  for (let cut = 0; cut <= golden.length; cut++) {
    const chunk = Buffer.from(golden.subarray(0, cut));
    const r = new SegmentReader('s');
    const first = r.pushWhole(chunk);
    for (const b of first.batches) assert.equal(b.buf.buffer, chunk.buffer, `cut ${cut}: a view of the chunk`);
    const rest = golden.subarray(first.used); // the rest of the chunk, then what follows it
    const left = cut - first.used;
    // The rest is a batch's start: its header when whole says the batch's size, else a header is needed.
    if (left >= 8) assert.equal(first.need, 8 + rest.readUInt32LE(0), `cut ${cut}`);
    else assert.equal(first.need, 8, `cut ${cut}`);
    assert.ok(left < first.need || first.used === golden.length, `cut ${cut}: the rest is not yet whole`);
    const second = r.pushWhole(Buffer.from(rest));
    assert.equal(first.used + second.used, golden.length, `cut ${cut}: all taken`);
    const got = [...first.batches, ...second.batches];
    assert.deepEqual(got.map((b) => [Buffer.from(b.buf).toString('latin1'), b.records]), batches.map((b) => [b.buf.toString('latin1'), b.records]), `cut ${cut}`);
    assert.deepEqual(r.end(), { bytes: golden.length, records: 4, batches: 3 });
  }
});

test('pushWhole refuses a damaged header or foreign bytes as push does, and runs only between batches', () => {
  assert.throws(() => new SegmentReader('s').pushWhole(Buffer.from('MCLSEG2\n')), /not a segment/);
  assert.throws(() => new SegmentReader('s').pushWhole(Buffer.concat([SEGMENT_MAGIC, Buffer.alloc(8)])), /damaged batch header/);
  const noFence = Buffer.from(golden);
  noFence[8 + 8 + batches[0]!.buf.length - 3] = 0x78;
  assert.throws(() => new SegmentReader('s').pushWhole(noFence), /does not end with its mn fence/);
  const r = new SegmentReader('s');
  r.push(golden.subarray(0, 8 + 8 + 2)); // inside the first batch
  assert.throws(() => r.pushWhole(golden.subarray(8 + 8 + 2)), /pushWhole inside a batch/);
});
