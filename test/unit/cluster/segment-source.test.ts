/**
 * A segment read back into reused buffers (cluster/segment-source.ts, issue #19 item 4): a read
 * buffer is reused only once every batch viewing it is released, so batches held meanwhile stay
 * as read, whatever reads follow; released buffers serve the next reads.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  // Views have the 1 MiB read buffer behind them; a batch cut across two reads has a copy of its own.
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
  assert.ok(views >= 25, `most batches are views (${views})`);
  // Eight reads; without reuse each would be a buffer of its own.
  assert.ok(reads.size <= 2, `the reads took ${reads.size} buffers`);
});
