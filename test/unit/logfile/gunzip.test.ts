/**
 * Every way of inflating a file (InlineGunzip over zlib or over the native ISA-L addon,
 * PoolGunzip) must give what Node's own gunzip gives: the same bytes, the same errors, on every
 * gzip shape, whatever the read and step sizes of the inline ways. `gunzipSync` is the reference.
 * Where the addon is not built the ISA-L cases fail in CI (which installs libisal-dev) and skip
 * elsewhere, saying why.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { generateLogs } from '../../../src/generate/index.js';
import { InlineGunzip, inlineGunzipAvailable, type InlineGunzipSizes } from '../../../src/logfile/inline-gunzip.js';
import { isalEngine } from '../../../src/logfile/isal-gunzip.js';
import { PoolGunzip, type GunzipPieces } from '../../../src/logfile/pool-gunzip.js';
import { gzipText } from '../../helpers/gzip-text.js';
import { repoRoot } from '../../helpers/paths.js';
import { isalReady, ZLIB_WORDS } from '../../helpers/isal.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-load-inline-gunzip-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** ISA-L's cases run where the addon passed its check (required in CI). */
const isal = isalReady();
type Way = InlineGunzipSizes | 'pool' | { readonly isal: InlineGunzipSizes | undefined };

/**
 * The inline way at these sizes, the pool, and ISA-L at these sizes where it is there, on half the
 * size pairs (CI's time; the fuzz target in test/unit/fuzz/isal-inflate.test.ts covers far more).
 */
function ways(sizes: InlineGunzipSizes): Way[] {
  return isal.ok && (sizes.readBytes + sizes.stepBytes) % 2 === 0 ? [sizes, 'pool', { isal: sizes }] : [sizes, 'pool'];
}

/** The file's pieces through InlineGunzip with `sizes` (over zlib, or ISA-L), or through PoolGunzip with 'pool'. */
async function inflateFile(bytes: Uint8Array, sizes?: Way): Promise<{ out: Buffer; error: NodeJS.ErrnoException | null; inflated: number }> {
  const path = join(dir, `f${n++}.gz`);
  writeFileSync(path, bytes);
  const g: GunzipPieces =
    sizes === 'pool' ? new PoolGunzip(path) : sizes !== undefined && 'isal' in sizes ? new InlineGunzip(path, undefined, sizes.isal, isalEngine) : new InlineGunzip(path, undefined, sizes);
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

test('the native ISA-L inflater passed its start-up check (CI builds it)', { skip: isal.skip }, () => {
  assert.equal(isal.ok, true);
});

test('ISA-L: a large file in the default 1 MiB reads and steps, and in odd sizes, comes out byte for byte', { skip: isal.skip }, async () => {
  const raw = text(2, 3 * 1024 * 1024 + 77);
  for (const level of [1, 6, 9]) {
    const gz = gzipSync(raw, { level });
    for (const sizes of [undefined, { readBytes: 65_537, stepBytes: 100_003 }]) {
      const got = await inflateFile(gz, { isal: sizes });
      assert.equal(got.error, null);
      assert.ok(got.out.equals(raw), `level ${level}`);
      assert.equal(got.inflated, gz.length);
    }
  }
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
        for (const way of ways({ readBytes, stepBytes })) {
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
        for (const way of ways({ readBytes, stepBytes })) {
          const got = await inflateFile(bytes, way);
          assert.equal(got.error?.code, want.error?.code, `${damage.kind} at ${damage.at}`);
          // ISA-L names a broken deflate block in its own words; the header, trailer and
          // end-of-file checks are zlib's, word for word.
          const sameWords = !(typeof way === 'object' && 'isal' in way) || ZLIB_WORDS.includes(want.error?.message ?? '');
          if (want.error !== null && sameWords) assert.equal(got.error?.message, want.error.message);
          // Cut short, what came out is a prefix of the content. (A flipped bit can pass into the
          // output until the member's CRC is checked at its end, on both paths.)
          if (damage.kind === 'cut') assert.ok(raw.subarray(0, got.out.length).equals(got.out));
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('differential: every gzip fixture of the suite, and generated logs of every shape the tests make, come out as gunzipSync gives them, every way', async () => {
  const fixtureDir = join(repoRoot(), 'test', 'fixtures');
  const fixtures = readdirSync(fixtureDir).filter((f) => f.endsWith('.gz')).map((f) => join(fixtureDir, f));
  assert.ok(fixtures.length >= 2, 'the real-data fixtures are there');
  const gen = join(dir, 'generated');
  // The generator's shapes: one member or several, every gzip level the tests use, bad, blank and CRLF lines.
  await generateLogs({ dir: gen, files: 2, lines: 3000, seed: 3, badRate: 0.05, blankRate: 0.01, crlf: true, multiMember: 3, gzipLevel: 1 });
  await generateLogs({ dir: gen, files: 1, lines: 2000, seed: 4, start: '20170929010000', gzipLevel: 9 });
  const generated = readdirSync(gen).map((f) => join(gen, f));
  for (const file of [...fixtures, ...generated]) {
    const bytes = readFileSync(file);
    const want = gunzipSync(bytes);
    for (const way of [...ways({ readBytes: 4096, stepBytes: 10_000 }), ...(isal.ok ? [{ isal: undefined }] : [])]) {
      const got = await inflateFile(bytes, way);
      assert.equal(got.error, null, file);
      assert.ok(got.out.equals(want), `${file}: same bytes (${JSON.stringify(way)})`);
    }
  }
});

test('an empty file and a gzip of nothing', async () => {
  for (const way of ways({ readBytes: 1024, stepBytes: 1024 })) {
    assert.equal((await inflateFile(new Uint8Array(0), way)).error?.code, reference(new Uint8Array(0)).error?.code);
    const empty = await inflateFile(gzipSync(Buffer.alloc(0)), way);
    assert.equal(empty.error, null);
    assert.equal(empty.out.length, 0);
  }
});

test('a missing file fails with ENOENT, both ways', async () => {
  for (const g of [new InlineGunzip(join(dir, 'no-such-file.gz')), new PoolGunzip(join(dir, 'no-such-file.gz'))]) {
    await assert.rejects(async () => {
      for await (const _ of g) assert.fail('no piece expected');
    }, { code: 'ENOENT' });
  }
});
