/**
 * Issue #10, part 5: data after zero padding in a gzip file was dropped silently. A file of
 * `gzip(3000 lines) + 16 zero bytes + gzip(one more line)` loaded 3000 lines, exited 0 and was
 * renamed. Now what follows the padding loads, as Python's gzip (the reference loader's reader)
 * reads it; anything after the padding that is not a gzip member fails the file, naming the
 * offset. Real bin, real memcached, every stored value against the oracle, every --gunzip inflater.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { generateLogs } from '../../../src/generate/index.js';
import { checkServers, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';
import { isalReady } from '../../helpers/isal.js';
import { escapeRegExp } from '../../helpers/scratch.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-gzip-padding-'));
/** The plain text of two generated minute-logs of 3000 lines each. */
let texts: [Buffer, Buffer];
/** One more valid line, with a key no generated line has. */
const EXTRA = Buffer.from('idfa\tafter-the-padding\t55.5\t-37.25\t1,22,333\n', 'latin1');
const NAMES = ['20170929000000.tsv.gz', '20170929000100.tsv.gz'] as const;

before(async () => {
  const gen = join(root, 'generated');
  await generateLogs({ dir: gen, files: 2, lines: 3000, seed: 51, repeatRate: 0.3, badRate: 0 });
  const [a, b] = pendingFiles(gen).map((f) => gunzipSync(readFileSync(f)));
  texts = [a!, b!];
});
after(async () => {
  await stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** What Python's gzip module reads from a file: an independent reader of padded multi-member gzip. */
const pythonGunzip = (path: string): Buffer =>
  execFileSync('python3', ['-c', 'import gzip,sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())', path], {
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** Writes the files of a run into a fresh folder, in name order. */
function logDir(name: string, contents: readonly Buffer[]): { dir: string; files: string[] } {
  const dir = join(root, name);
  mkdirSync(dir);
  const files = contents.map((c, i) => join(dir, NAMES[i]!));
  contents.forEach((c, i) => writeFileSync(files[i]!, c));
  return { dir, files };
}

/** A plain one-member gzip of `text`, outside any run's folder: what the oracle reads. */
function reference(name: string, text: Buffer): string {
  const path = join(root, `${name}.ref.gz`);
  writeFileSync(path, gzipSync(text));
  return path;
}

const zeros = (n: number) => Buffer.alloc(n);

for (const gunzip of ['isal', 'inline', 'pool'] as const) {
  const skip = gunzip === 'isal' && isalReady().skip;
  test(`gzip(3000 lines) + 16 zero bytes + gzip(one more line) (--gunzip ${gunzip}): every line is loaded, the last one too; zeros at the end are harmless; exit 0, renamed`, { skip }, async () => {
    const servers = await startServers(4);
    const [a, b] = texts;
    const { dir, files } = logDir(`padded-${gunzip}`, [
      Buffer.concat([gzipSync(a), zeros(16), gzipSync(EXTRA)]),
      Buffer.concat([gzipSync(b), zeros(4096)]),
    ]);
    // The reference reader gets every line out of both files.
    assert.ok(pythonGunzip(files[0]!).equals(Buffer.concat([a, EXTRA])), 'python reads the line after the padding');
    assert.ok(pythonGunzip(files[1]!).equals(b));
    const expected = expectFrom([reference(`padded-${gunzip}-0`, Buffer.concat([a, EXTRA])), reference(`padded-${gunzip}-1`, b)]);
    assert.ok(expected.byType['idfa']!.has('idfa:after-the-padding'));

    const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--gunzip', gunzip, ...serverArgs(servers.map((s) => s.address.label))]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`${escapeRegExp(NAMES[0])}: succeeded; lines=3001 `));
    assert.deepEqual(doneFiles(dir), NAMES.map((n) => `.${n}`));
    await checkServers(servers.map((s) => s.address), expected);
  });

  test(`zero padding then bytes that are not a gzip member (--gunzip ${gunzip}): exit 1, the error names the offset, the lines before are loaded, nothing is renamed`, { skip }, async () => {
    const servers = await startServers(4);
    const [a, b] = texts;
    const first = gzipSync(a);
    const { dir, files } = logDir(`garbage-${gunzip}`, [Buffer.concat([first, zeros(16), Buffer.from('JUNK'), gzipSync(EXTRA)]), gzipSync(b)]);
    // The reference reader refuses the file too.
    assert.throws(() => pythonGunzip(files[0]!));

    const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--gunzip', gunzip, ...serverArgs(servers.map((s) => s.address.label))]);
    assert.equal(run.code, 1, run.stderr);
    const m = new RegExp(`E ${escapeRegExp(files[0]!)}: unexpected bytes at compressed byte (\\d+) \\(after a gzip member and 16 zero byte\\(s\\) of padding, .*cut it at that byte\\), after line (\\d+)`).exec(run.stderr);
    assert.ok(m, run.stderr);
    assert.equal(Number(m[1]), first.length + 16, 'where the stray bytes start');
    assert.equal(Number(m[2]), 3000);
    assert.match(run.stderr, new RegExp(`${escapeRegExp(NAMES[0])}: FAILED \\(not fully loaded\\).* renamed=no`));
    assert.deepEqual(doneFiles(dir), [], 'the broken file and the later one stay pending');
    assert.deepEqual(pendingFiles(dir).map((f) => basename(f)), [...NAMES]);
    // Every line before the stray bytes, and the later file; not the member after them.
    await checkServers(servers.map((s) => s.address), expectFrom([reference(`garbage-${gunzip}-0`, a), files[1]!]));
  });
}
