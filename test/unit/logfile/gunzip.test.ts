/**
 * Both ways of inflating a file (InlineGunzip, PoolGunzip) must give what Node's own gunzip
 * gives: the same bytes, the same errors, on every gzip shape, whatever the read and step sizes
 * of the inline way. `gunzipSync` is the reference.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { InlineGunzip, inlineGunzipAvailable, type InlineGunzipSizes } from '../../../src/logfile/inline-gunzip.js';
import { PoolGunzip, type GunzipPieces } from '../../../src/logfile/pool-gunzip.js';
import { gzipText } from '../../helpers/gzip-text.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-load-inline-gunzip-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** The file's pieces through InlineGunzip with `sizes`, or through PoolGunzip with 'pool'. */
async function inflateFile(bytes: Uint8Array, sizes?: InlineGunzipSizes | 'pool'): Promise<{ out: Buffer; error: NodeJS.ErrnoException | null; inflated: number }> {
  const path = join(dir, `f${n++}.gz`);
  writeFileSync(path, bytes);
  const g: GunzipPieces = sizes === 'pool' ? new PoolGunzip(path) : new InlineGunzip(path, undefined, sizes);
  const pieces: Buffer[] = [];
  try {
    for await (const p of g) pieces.push(Buffer.from(p));
    return { out: Buffer.concat(pieces), error: null, inflated: g.bytesInflated };
  } catch (err) {
    return { out: Buffer.concat(pieces), error: err as NodeJS.ErrnoException, inflated: g.bytesInflated };
  }
}

function reference(bytes: Uint8Array): { out: Buffer | null; error: NodeJS.ErrnoException | null } {
  try {
    return { out: gunzipSync(bytes), error: null };
  } catch (err) {
    return { out: null, error: err as NodeJS.ErrnoException };
  }
}

const text = gzipText;

test('this Node has what inline gunzip uses (else the loader falls back to the thread pool)', () => {
  assert.equal(inlineGunzipAvailable(), true);
});

test('a large file, in the default 1 MiB reads and steps, comes out byte for byte', async () => {
  const raw = text(1, 5 * 1024 * 1024 + 123);
  const gz = gzipSync(raw, { level: 6 });
  const got = await inflateFile(gz);
  assert.equal(got.error, null);
  assert.ok(got.out.equals(raw));
  assert.equal(got.inflated, gz.length);
});

test('property: multi-member files, padding and any read/step sizes give what gunzipSync gives', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ seed: fc.nat(), size: fc.integer({ min: 0, max: 5000 }), level: fc.integer({ min: 0, max: 9 }) }), { minLength: 1, maxLength: 4 }),
      fc.constantFrom(0, 0, 3),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 300 }),
      async (members, zeros, readBytes, stepBytes) => {
        const raw = members.map((m) => text(m.seed, m.size));
        const gz = Buffer.concat([...members.map((m, i) => gzipSync(raw[i] as Buffer, { level: m.level })), Buffer.alloc(zeros)]);
        const want = reference(gz);
        for (const way of [{ readBytes, stepBytes }, 'pool'] as const) {
          const got = await inflateFile(gz, way);
          assert.equal(got.error?.code, want.error?.code);
          if (want.out !== null) assert.ok(got.out.equals(want.out), 'same bytes');
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('property: a file cut short or with a flipped bit fails as gunzipSync fails, with the same code and message', async () => {
  const raw = text(7, 20_000);
  const gz = gzipSync(raw);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.record({ kind: fc.constant('cut' as const), at: fc.integer({ min: 0, max: gz.length - 1 }) }),
        fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: gz.length - 1 }), bit: fc.integer({ min: 0, max: 7 }) }),
      ),
      fc.integer({ min: 1, max: 4096 }),
      fc.integer({ min: 1, max: 4096 }),
      async (damage, readBytes, stepBytes) => {
        const bad = Buffer.from(gz);
        const bytes = damage.kind === 'cut' ? bad.subarray(0, damage.at) : ((bad[damage.at] = (bad[damage.at] as number) ^ (1 << damage.bit)), bad);
        const want = reference(bytes);
        for (const way of [{ readBytes, stepBytes }, 'pool'] as const) {
          const got = await inflateFile(bytes, way);
          assert.equal(got.error?.code, want.error?.code, `${damage.kind} at ${damage.at}`);
          if (want.error !== null) assert.equal(got.error?.message, want.error.message);
          // Cut short, what came out is a prefix of the content. (A flipped bit can pass into the
          // output until the member's CRC is checked at its end, on both paths.)
          if (damage.kind === 'cut') assert.ok(raw.subarray(0, got.out.length).equals(got.out));
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('an empty file and a gzip of nothing', async () => {
  assert.equal((await inflateFile(new Uint8Array(0))).error?.code, reference(new Uint8Array(0)).error?.code);
  const empty = await inflateFile(gzipSync(Buffer.alloc(0)));
  assert.equal(empty.error, null);
  assert.equal(empty.out.length, 0);
});

test('a missing file fails with ENOENT, both ways', async () => {
  for (const g of [new InlineGunzip(join(dir, 'no-such-file.gz')), new PoolGunzip(join(dir, 'no-such-file.gz'))]) {
    await assert.rejects(async () => {
      for await (const _ of g) assert.fail('no piece expected');
    }, { code: 'ENOENT' });
  }
});
