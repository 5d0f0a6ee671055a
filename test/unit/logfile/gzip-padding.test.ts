/**
 * Zero padding between and after gzip members (issue #10), through both ways of inflating a file.
 * gunzipSync is no reference here: it stops at the first zero byte after a member. The oracle is
 * the plain text that was compressed, and Python's gzip module (the reference loader's reader)
 * confirms it on fixed shapes: zeros are skipped, a member after them is read, anything else
 * after them fails the file at its offset.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ERROR_CODES } from '../../../src/errors.js';
import { InlineGunzip, type InlineGunzipSizes } from '../../../src/logfile/inline-gunzip.js';
import { PoolGunzip, type GunzipPieces } from '../../../src/logfile/pool-gunzip.js';
import { gzipText } from '../../helpers/gzip-text.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-load-gzip-padding-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const MiB = 1024 * 1024;
/** skipZeroPadding reads this much at a time: padding that crosses it takes a second read. */
const SCAN = 64 * 1024;

interface Got {
  readonly out: Buffer;
  readonly error: NodeJS.ErrnoException | null;
  readonly inflated: number;
  readonly read: number;
}

function write(bytes: Uint8Array): string {
  const path = join(dir, `f${n++}.gz`);
  writeFileSync(path, bytes);
  return path;
}

async function inflate(path: string, way: InlineGunzipSizes | 'pool' | 'inline'): Promise<Got> {
  const g: GunzipPieces = way === 'pool' ? new PoolGunzip(path) : way === 'inline' ? new InlineGunzip(path) : new InlineGunzip(path, undefined, way);
  const pieces: Buffer[] = [];
  let error: NodeJS.ErrnoException | null = null;
  try {
    for await (const p of g) pieces.push(Buffer.from(p));
  } catch (err) {
    error = err as NodeJS.ErrnoException;
  }
  return { out: Buffer.concat(pieces), error, inflated: g.bytesInflated, read: g.bytesRead };
}

/** Python's gzip.open(path).read(), or the first line of its error. */
function python(path: string): { out: Buffer | null; error: string | null } {
  try {
    const out = execFileSync('python3', ['-c', 'import gzip,sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())', path], {
      maxBuffer: 64 * MiB,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { out, error: null };
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
    return { out: null, error: stderr.trim().split('\n').pop() ?? 'failed' };
  }
}

const text = gzipText;
const Z = (k: number) => Buffer.alloc(k);
const B = (...bytes: number[]) => Buffer.from(bytes);
const gz = (seed: number, bytes: number) => gzipSync(text(seed, bytes));

/** A gzip member exactly `length` bytes long: stored blocks, so its size follows the text's. */
function memberOfLength(length: number): { gz: Buffer; raw: Buffer } {
  let size = length - 18;
  for (let tries = 0; tries < 50; tries++) {
    const raw = text(13, size);
    const gz = gzipSync(raw, { level: 0 });
    if (gz.length === length) return { gz, raw };
    size -= Math.sign(gz.length - length) * Math.max(1, Math.abs(gz.length - length) - 1);
  }
  throw new Error(`no stored member of ${length} bytes`);
}

/** The tails that may follow the last member: fine, or stray bytes at an offset from the tail's start. */
type Tail = { bytes: Buffer; garbageAt: number | null };
const TAILS: Record<string, Tail> = {
  none: { bytes: B(), garbageAt: null },
  zeros: { bytes: Z(40), garbageAt: null },
  'zeros, then a letter': { bytes: Buffer.concat([Z(5), Buffer.from('x')]), garbageAt: 5 },
  'zeros, then 1f alone': { bytes: Buffer.concat([Z(5), B(0x1f)]), garbageAt: 5 },
  'zeros, then 1f 00': { bytes: Buffer.concat([Z(2), B(0x1f, 0x00, 0x8b)]), garbageAt: 2 },
  'zeros, then 8b 1f': { bytes: Buffer.concat([Z(1), B(0x8b, 0x1f, 0x08)]), garbageAt: 1 },
  'zeros, stray bytes, then a member': { bytes: Buffer.concat([Z(16), Buffer.from('JUNK'), gz(9, 300)]), garbageAt: 16 },
};

test('property: members with any zero padding between and after them, any read/step sizes: all their text, both ways', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({ seed: fc.nat(), size: fc.integer({ min: 0, max: 3000 }), level: fc.integer({ min: 0, max: 9 }), zeros: fc.constantFrom(0, 0, 1, 2, 7, 100, 700) }),
        { minLength: 1, maxLength: 5 },
      ),
      fc.constantFrom(...Object.keys(TAILS)),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 300 }),
      async (members, tailName, readBytes, stepBytes) => {
        const tail = TAILS[tailName] as Tail;
        const raw = Buffer.concat(members.map((m) => text(m.seed, m.size)));
        const body = Buffer.concat(members.flatMap((m) => [gzipSync(text(m.seed, m.size), { level: m.level }), Z(m.zeros)]));
        const path = write(Buffer.concat([body, tail.bytes]));
        const size = body.length + tail.bytes.length;
        const results: Got[] = [];
        for (const way of [{ readBytes, stepBytes }, 'pool'] as const) {
          const got = await inflate(path, way);
          results.push(got);
          assert.ok(got.out.equals(raw), `all the text before the tail (${tailName})`);
          if (tail.garbageAt === null) {
            assert.equal(got.error, null);
            assert.equal(got.inflated, size);
            assert.equal(got.read, size);
          } else {
            assert.equal(got.error?.code, ERROR_CODES.GZIP, String(got.error));
            assert.match(got.error.message, new RegExp(`^${path}: unexpected bytes at compressed byte ${body.length + tail.garbageAt} \\(`));
          }
        }
        assert.equal(results[0]!.error?.message, results[1]!.error?.message, 'the same error both ways');
        assert.equal(results[0]!.inflated, results[1]!.inflated, 'the same offset both ways');
      },
    ),
    { numRuns: 150 },
  );
});

test('property: a member cut short after padding, or stray bytes right after a member, fail alike both ways', async () => {
  const first = gz(3, 5000);
  const second = gz(4, 5000);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        // zlib's own errors: the member after the padding ends early (its magic is there: 2 bytes at
        // least), or bytes that are not a member follow one with no padding between
        fc.record({ zeros: fc.constantFrom(1, 16, 1000), rest: fc.integer({ min: 2, max: second.length - 1 }).map((k) => second.subarray(0, k)) }),
        fc.record({ zeros: fc.constant(0), rest: fc.constantFrom(B(0x41), B(0x1f), B(0x1f, 0x8b), Buffer.from('JUNK'), B(0x1f, 0x8b, 0x07, 0, 0, 0, 0, 0, 0, 3, 1, 2)) }),
      ),
      fc.integer({ min: 1, max: 4096 }),
      fc.integer({ min: 1, max: 4096 }),
      async ({ zeros, rest }, readBytes, stepBytes) => {
        const path = write(Buffer.concat([first, Z(zeros), rest]));
        const [a, b] = [await inflate(path, { readBytes, stepBytes }), await inflate(path, 'pool')];
        assert.ok(a.error !== null && b.error !== null, 'the file fails');
        assert.match(a.error.code ?? '', /^Z_/);
        assert.equal(a.error.code, b.error.code);
        assert.equal(a.error.message, b.error.message);
        const raw = Buffer.concat([text(3, 5000), text(4, 5000)]);
        for (const got of [a, b]) assert.ok(raw.subarray(0, got.out.length).equals(got.out), 'what came out is a prefix of the text');
      },
    ),
    { numRuns: 150 },
  );
});

test('padding across 1 MiB reads and 64 KiB scans, default sizes: python reads what both ways read', async () => {
  const big = gzipSync(text(11, 3 * MiB), { level: 1 });
  const a = text(12, 20_000);
  const stored = memberOfLength(MiB);
  const shapes: [string, Buffer, Buffer | null][] = [
    // The zeros end where a 1 MiB read ends, so the next member starts a read.
    ['zeros up to the 1 MiB read boundary', Buffer.concat([big, Z(2 * MiB - big.length), gzipSync(a)]), Buffer.concat([text(11, 3 * MiB), a])],
    // The member ends where a read ends, so the zeros start the next read.
    ['a member ending on the 1 MiB read boundary, then zeros', Buffer.concat([stored.gz, Z(7), gzipSync(a), Z(3)]), Buffer.concat([stored.raw, a])],
    ['zeros longer than a scan, then a member', Buffer.concat([gzipSync(a), Z(3 * SCAN + 5), gzipSync(a)]), Buffer.concat([a, a])],
    ['1f at the end of a scan, 8b past it', Buffer.concat([gzipSync(a), Z(SCAN - 1), gzipSync(a)]), Buffer.concat([a, a])],
    ['only zeros after the member, longer than a read', Buffer.concat([gzipSync(a), Z(MiB + 3)]), a],
    ['1f at the end of a scan and of the file', Buffer.concat([gzipSync(a), Z(SCAN - 1), B(0x1f)]), null],
    ['zeros longer than a scan, then a letter', Buffer.concat([gzipSync(a), Z(SCAN + 1), Buffer.from('x')]), null],
  ];
  assert.ok(big.length < 2 * MiB && big.length > MiB, `${big.length}`);
  for (const [name, bytes, want] of shapes) {
    const path = write(bytes);
    const py = python(path);
    assert.equal(py.out === null, want === null, `${name}: python ${py.error ?? 'read it'}`);
    if (want !== null) assert.ok(py.out!.equals(want), `${name}: python reads the text`);
    const got = [await inflate(path, 'inline'), await inflate(path, 'pool')];
    for (const g of got) {
      if (want !== null) {
        assert.equal(g.error, null, `${name}: ${String(g.error)}`);
        assert.ok(g.out.equals(want), `${name}: the text`);
        assert.equal(g.inflated, bytes.length);
      } else {
        assert.equal(g.error?.code, ERROR_CODES.GZIP, `${name}: ${String(g.error)}`);
      }
    }
    assert.equal(got[0]!.error?.message, got[1]!.error?.message, name);
  }
});

test('python agrees with the oracle on every padded tail shape', () => {
  const a = text(5, 4000);
  for (const [name, tail] of Object.entries(TAILS)) {
    const py = python(write(Buffer.concat([gzipSync(a), Z(3), gzipSync(a), tail.bytes])));
    if (tail.garbageAt === null) assert.ok(py.out?.equals(Buffer.concat([a, a])), `${name}: ${py.error}`);
    else assert.equal(py.out, null, `${name}: python refuses it too`);
  }
});
