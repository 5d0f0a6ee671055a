import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { generateLogs, type GenerateOptions, type GenerateSummary } from '../../../src/generate/index.js';
import { crc32Portable } from '../../../src/generate/gzip-file.js';
import { classify, countBy, keyOf, splitLines, type Outcome } from './spec-rules.js';

let root: string;
let dirCount = 0;
const freshDir = (): string => join(root, `d${dirCount++}`);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'memc-load-generate-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function generate(options: Omit<GenerateOptions, 'dir'>): Promise<GenerateSummary> {
  return generateLogs({ dir: freshDir(), ...options });
}

async function text(path: string): Promise<string> {
  return gunzipSync(await readFile(path)).toString('latin1');
}

/**
 * Walks gzip members by hand (RFC 1952) rather than trusting gunzip, which reads concatenated
 * members silently: returns each member's content after checking its CRC32 and length.
 */
function members(gz: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < gz.length) {
    assert.deepEqual([...gz.subarray(pos, pos + 4)], [0x1f, 0x8b, 8, 0], `member header at ${pos}`);
    const { buffer, engine } = inflateRawSync(gz.subarray(pos + 10), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    const end = pos + 10 + engine.bytesWritten;
    assert.equal(gz.readUInt32LE(end), crc32(buffer), 'member CRC32');
    assert.equal(gz.readUInt32LE(end + 4), buffer.length % 2 ** 32, 'member ISIZE');
    out.push(buffer);
    pos = end + 8;
  }
  return out;
}

describe('generateLogs', () => {
  it('is byte-identical for the same seed and options, different for another seed', async () => {
    const opts = { files: 2, lines: 4000, seed: 'same', repeatRate: 0.2, badRate: 0.05, blankRate: 0.01 };
    const a = await generate(opts);
    const b = await generate(opts);
    const c = await generate({ ...opts, seed: 'other' });
    for (let i = 0; i < 2; i++) {
      const [fa, fb, fc] = await Promise.all([a, b, c].map((s) => readFile(s.files[i].path)));
      assert.ok(fa.equals(fb), `file ${i} differs for the same seed`);
      assert.ok(!fa.equals(fc), `file ${i} is the same for another seed`);
    }
    assert.deepEqual(
      a.files.map(({ path, ...rest }) => rest),
      b.files.map(({ path, ...rest }) => rest),
    );
  });

  it('names files by minute, one minute apart, in chronological = name order', async () => {
    const s = await generate({ files: 4, lines: 10, start: '2017-12-31 23:58:00' });
    const names = ['20171231235800.tsv.gz', '20171231235900.tsv.gz', '20180101000000.tsv.gz', '20180101000100.tsv.gz'];
    assert.deepEqual(
      s.files.map((f) => f.name),
      names,
    );
    assert.deepEqual(await readdir(s.dir), names, 'only finished files, no .part left behind');
    const d = await generate({ files: 2, lines: 1 });
    assert.deepEqual(
      d.files.map((f) => f.name),
      ['20170929000000.tsv.gz', '20170929000100.tsv.gz'],
    );
    const compact = await generate({ files: 1, lines: 1, start: '20170929235900' });
    assert.equal(compact.files[0].name, '20170929235900.tsv.gz');
  });

  it('reports what it wrote: lines by outcome, sizes, distinct keys', async () => {
    const s = await generate({ files: 2, lines: 6000, repeatRate: 0.3, badRate: 0.1, blankRate: 0.02, seed: 11 });
    let allLines = 0;
    for (const f of s.files) {
      const gz = await readFile(f.path);
      const body = gunzipSync(gz).toString('latin1');
      const lines = splitLines(body);
      const outcomes = lines.map((l) => classify(l));
      const by = countBy<Outcome>(outcomes);
      assert.equal(f.lines, lines.length);
      assert.equal(f.bytes, body.length);
      assert.equal(f.gzipBytes, gz.length);
      assert.equal(f.valid, by.get('valid') ?? 0);
      assert.equal(f.warnings, by.get('warn') ?? 0);
      assert.equal(f.blank, by.get('blank') ?? 0);
      for (const [reason, n] of Object.entries(f.rejected)) assert.equal(by.get(reason as Outcome) ?? 0, n, reason);
      for (const reason of ['fields', 'empty', 'type', 'key', 'geo'] as const) assert.ok(f.rejected[reason] > 0, reason);
      const loaded = lines.filter((_, i) => outcomes[i] === 'valid' || outcomes[i] === 'warn').map(keyOf);
      assert.equal(f.distinctKeys, new Set(loaded).size);
      allLines += lines.length;
    }
    assert.equal(s.lines, allLines);
  });

  it('repeats keys within a file and across files, counting each repeat', async () => {
    const s = await generate({ files: 3, lines: 5000, repeatRate: 0.3, seed: 'repeats' });
    const seen = new Set<string>();
    for (const f of s.files) {
      const keys = splitLines(await text(f.path)).map(keyOf);
      const inFile = new Set<string>();
      let repeated = 0;
      let withinFile = 0;
      let fromEarlierFile = 0;
      for (const k of keys) {
        if (inFile.has(k)) withinFile++;
        else if (seen.has(k)) fromEarlierFile++;
        if (seen.has(k)) repeated++;
        inFile.add(k);
        seen.add(k);
      }
      assert.equal(f.repeated, repeated);
      assert.ok(withinFile > 200, `${f.name}: ${withinFile} repeats within the file`);
      if (f !== s.files[0]) assert.ok(fromEarlierFile > 200, `${f.name}: ${fromEarlierFile} keys from earlier files`);
      assert.ok(Math.abs(repeated / keys.length - 0.3) < 0.04, `${f.name}: repeat rate ${repeated / keys.length}`);
    }
  });

  it('writes CRLF files when asked', async () => {
    const opts = { lines: 3000, badRate: 0.05, blankRate: 0.02, seed: 4 };
    const lf = await generate(opts);
    const crlf = await generate({ ...opts, crlf: true });
    const body = await text(crlf.files[0].path);
    assert.equal((body.match(/\r\n/g) ?? []).length, 3000);
    assert.equal((body.match(/\n/g) ?? []).length, 3000);
    assert.equal(body.replace(/\r\n/g, '\n'), await text(lf.files[0].path));
  });

  it('writes several gzip members, cut mid-line, holding the same content', async () => {
    // ~2.5 MB a file, so members also span several parallel-deflated blocks.
    const opts = { files: 2, lines: 8000, badRate: 0.02, seed: 'mm' };
    const single = await generate(opts);
    const multi = await generate({ ...opts, multiMember: 4 });
    for (let i = 0; i < 2; i++) {
      const one = await readFile(single.files[i].path);
      const many = await readFile(multi.files[i].path);
      assert.equal(members(one).length, 1);
      const parts = members(many);
      assert.equal(parts.length, 4);
      assert.equal(multi.files[i].members, 4);
      assert.ok(Buffer.concat(parts).equals(gunzipSync(one)));
      assert.ok(gunzipSync(many).equals(gunzipSync(one)), 'zlib reads concatenated members');
      assert.ok(
        parts.slice(0, -1).some((p) => p[p.length - 1] !== 0x0a),
        'at least one member ends mid-line',
      );
    }
    const three = await generate({ lines: 100, multiMember: true });
    assert.equal(members(await readFile(three.files[0].path)).length, 3);
  });

  it('writes valid gzip at every level, the same content, and an empty file for 0 lines', async () => {
    const fast = await generate({ lines: 2000, gzipLevel: 1 });
    const best = await generate({ lines: 2000, gzipLevel: 9 });
    assert.ok(best.gzipBytes < fast.gzipBytes);
    assert.equal(await text(fast.files[0].path), await text(best.files[0].path));
    const empty = await generate({ lines: 0 });
    assert.equal(await text(empty.files[0].path), '');
    assert.equal(members(await readFile(empty.files[0].path)).length, 1);
  });

  it('rejects bad options with MCL_ERR_INVALID_ARG, writing nothing', async () => {
    const cases: Partial<GenerateOptions>[] = [
      { badRate: 1.5 },
      { repeatRate: -0.1 },
      { blankRate: Number.NaN },
      { badRate: 0.7, blankRate: 0.7 },
      { files: 0 },
      { lines: 1.5 },
      { gzipLevel: 10 },
      { start: '2017-02-30 00:00:00' },
      { start: 'yesterday' },
      { seed: Number.POSITIVE_INFINITY },
      { multiMember: 0 },
      { maxLineBytes: 0 },
      { dir: '' },
    ];
    for (const c of cases) {
      const dir = freshDir();
      await assert.rejects(generateLogs({ dir, lines: 10, ...c }), { code: 'MCL_ERR_INVALID_ARG' }, JSON.stringify(c));
      await assert.rejects(readdir(dir), { code: 'ENOENT' });
    }
  });
});

describe('crc32Portable', () => {
  it('matches zlib', () => {
    for (const n of [0, 1, 7, 1000, 65_537]) {
      const data = randomBytes(n);
      assert.equal(crc32Portable(data), crc32(data));
      assert.equal(crc32Portable(data.subarray(n >> 1), crc32Portable(data.subarray(0, n >> 1))), crc32(data));
    }
  });
});
