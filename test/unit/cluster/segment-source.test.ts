/**
 * A segment read back into reused buffers (cluster/segment-source.ts, issue #19 item 4): a read
 * buffer is reused only once every batch viewing it is released, so batches held meanwhile stay
 * as read, whatever reads follow; released buffers serve the next reads.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { batchHeader, SEGMENT_MAGIC } from '../../../src/cluster/segment-format.js';
import { SegmentSource } from '../../../src/cluster/segment-source.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-segsrc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `n` batches of about `size` bytes each, every one with its own bytes, as a segment file. */
function segment(name: string, n: number, size: number): { path: string; batches: Buffer[] } {
  const batches: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const value = Buffer.alloc(size, 0x41 + (i % 26));
    batches.push(Buffer.concat([Buffer.from(`ms k${i} ${size} q\r\n`), value, Buffer.from('\r\nmn\r\n')]));
  }
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([SEGMENT_MAGIC, ...batches.flatMap((b) => [batchHeader(b, 1), b])]));
  return { path, batches };
}

test('batches held unreleased stay as read across later reads; every batch comes back, in order', async () => {
  const { path, batches } = segment('held.seg', 40, 200_000); // ~8 MiB: eight reads, batches cut across them
  const src = new SegmentSource(path);
  const got: Uint8Array[] = [];
  for await (const b of src.batches()) got.push(b.buf);
  assert.deepEqual(src.end(), { bytes: 8 + batches.reduce((n, b) => n + 8 + b.length, 0), records: 40, batches: 40 });
  await src.close();
  assert.equal(got.length, batches.length);
  got.forEach((b, i) => assert.ok(Buffer.from(b).equals(batches[i]!), `batch ${i} intact`));
});

test('a read released batch by batch serves the next reads: its buffer is reused, and what it held then is the new bytes', async () => {
  const { path, batches } = segment('released.seg', 40, 200_000);
  const src = new SegmentSource(path);
  // Views have the 1 MiB read buffer behind them.
  const reads = new Set<ArrayBufferLike>();
  let views = 0;
  let i = 0;
  for await (const b of src.batches()) {
    assert.ok(Buffer.from(b.buf).equals(batches[i]!), `batch ${i} as written`);
    i++;
    if (b.buf.buffer.byteLength === 1024 * 1024) {
      views++;
      reads.add(b.buf.buffer);
    }
    src.release(b.buf);
  }
  await src.close();
  assert.equal(i, 40);
  assert.equal(views, 40, 'every batch is a view of a read: one cut by a read starts the next');
  // Eight reads; without reuse each would be a buffer of its own.
  assert.ok(reads.size <= 2, `the reads took ${reads.size} buffers`);
});

test('a batch larger than a read comes back whole, between views of 1 MiB reads; the reads go on at 1 MiB', async () => {
  const small = segment('mixed-a.seg', 1, 300_000).batches[0]!;
  const large = Buffer.concat([Buffer.from('ms big 2500000 q\r\n'), Buffer.alloc(2_500_000, 0x5a), Buffer.from('\r\nmn\r\n')]);
  const path = join(dir, 'mixed.seg');
  const parts = [small, large, small, small, small, small];
  writeFileSync(path, Buffer.concat([SEGMENT_MAGIC, ...parts.flatMap((b) => [batchHeader(b, 1), b])]));
  const src = new SegmentSource(path);
  const sizes: number[] = [];
  let i = 0;
  for await (const b of src.batches()) {
    assert.ok(Buffer.from(b.buf).equals(parts[i]!), `batch ${i} intact`);
    sizes.push(b.buf.buffer.byteLength);
    i++;
    src.release(b.buf);
  }
  assert.deepEqual(src.end(), { bytes: 8 + parts.reduce((n, b) => n + 8 + b.length, 0), records: 6, batches: 6 });
  await src.close();
  assert.ok((sizes[1] ?? 0) >= 8 + large.length, `the large batch had a read of its size (${sizes[1]})`);
  assert.deepEqual([sizes[0], ...sizes.slice(2)], [1024 * 1024, 1024 * 1024, 1024 * 1024, 1024 * 1024, 1024 * 1024]);
});

test('a segment cut inside a batch, or inside a header, is an error at its end', async () => {
  const { path, batches } = segment('whole.seg', 12, 200_000);
  const bytes = readFileSync(path);
  for (const cut of [8 + 4, 8 + 8 + 100, 8 + 5 * (8 + batches[0]!.length) + 3, bytes.length - 1, 1024 * 1024 + 7]) {
    const p = join(dir, `cut-${cut}.seg`);
    writeFileSync(p, bytes.subarray(0, cut));
    const src = new SegmentSource(p);
    let n = 0;
    for await (const b of src.batches()) {
      assert.ok(Buffer.from(b.buf).equals(batches[n]!), `cut ${cut}: batch ${n} intact`);
      n++;
      src.release(b.buf);
    }
    assert.throws(() => src.end(), /truncated/, `cut ${cut}`);
    await src.close();
  }
});
