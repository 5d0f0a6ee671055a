import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { donePattern, listLogFiles, listPattern } from '../../../src/logfile/list-files.js';
import { donePath, markDone } from '../../../src/logfile/mark-done.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-load-list-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('files come oldest first by timestamp name, across folders; done files never match', async () => {
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  for (const f of ['b/20170929000000.tsv.gz', 'a/20170929000100.tsv.gz', 'b/20170929000200.tsv.gz', 'a/.20170929000300.tsv.gz']) {
    writeFileSync(join(dir, f), '');
  }
  const found = await listLogFiles(join(dir, '*/*.tsv.gz'));
  assert.deepEqual(found, [join(dir, 'b/20170929000000.tsv.gz'), join(dir, 'a/20170929000100.tsv.gz'), join(dir, 'b/20170929000200.tsv.gz')]);
});

test('the folder lock file is never listed, even by a pattern that names it or matches everything', async () => {
  mkdirSync(join(dir, 'locked'));
  writeFileSync(join(dir, 'locked/20170929000000.tsv.gz'), '');
  writeFileSync(join(dir, 'locked/.memc-load.lock'), '{}');
  writeFileSync(join(dir, 'locked/.memc-load.lock.takeover'), '1');
  assert.deepEqual(await listLogFiles(join(dir, 'locked/*')), [join(dir, 'locked/20170929000000.tsv.gz')]);
  assert.deepEqual(await listLogFiles(join(dir, 'locked/.memc-load.lock*')), []);
  assert.deepEqual(await listLogFiles(join(dir, 'locked/{.,}*')), [join(dir, 'locked/20170929000000.tsv.gz')]);
});

test('a pattern matching nothing gives an empty list, not an error', async () => {
  assert.deepEqual(await listLogFiles(join(dir, 'nothing-here/*.tsv.gz')), []);
});

test('markDone dot-prefixes the file in its own folder', async () => {
  const f = join(dir, '20170929000500.tsv.gz');
  writeFileSync(f, 'x');
  assert.equal(await markDone(f), join(dir, '.20170929000500.tsv.gz'));
  assert.equal(donePath(f), join(dir, '.20170929000500.tsv.gz'));
  assert.deepEqual(await listLogFiles(join(dir, '2017*0500.tsv.gz')), []);
});

test('a dangling link that matches is a pending file in its place; a link to a file is the file (issue #18, item 6)', async () => {
  const d = join(dir, 'links');
  mkdirSync(d);
  writeFileSync(join(d, '20170929000000.tsv.gz'), '');
  symlinkSync('/nonexistent/mount/20170929000100.tsv.gz', join(d, '20170929000100.tsv.gz'));
  writeFileSync(join(dir, 'target.gz'), '');
  symlinkSync(join(dir, 'target.gz'), join(d, '20170929000200.tsv.gz'));
  symlinkSync('/nonexistent/x', join(d, 'other.txt'));
  const listed = await listPattern(join(d, '*.tsv.gz'));
  assert.deepEqual(listed.files, ['000000', '000100', '000200'].map((m) => join(d, `20170929${m}.tsv.gz`)));
  assert.deepEqual(listed.badNames, []);
});

test('a name that is not UTF-8 is listed apart with its bytes and the mv that fixes it; the others keep their order (issue #18, item 6)', async () => {
  const d = join(dir, 'bytes');
  mkdirSync(d);
  writeFileSync(join(d, '20170929000000.tsv.gz'), '');
  writeFileSync(Buffer.from(`${d}/2017092900\xff100.tsv.gz`, 'latin1'), '');
  writeFileSync(join(d, '20170929000200.tsv.gz'), '');
  const listed = await listPattern(join(d, '*.tsv.gz'));
  assert.deepEqual(listed.files, [join(d, '20170929000000.tsv.gz'), join(d, '20170929000200.tsv.gz')]);
  // listLogFiles (for callers that do not set bad names apart) still has it in its place.
  assert.deepEqual(await listLogFiles(join(d, '*.tsv.gz')), [...listed.files, join(d, '2017092900\uFFFD100.tsv.gz')]);
  assert.equal(listed.badNames.length, 1);
  const bad = listed.badNames[0]!;
  assert.equal(bad.path, join(d, '2017092900\uFFFD100.tsv.gz'));
  const shown = `$'${d}/2017092900\\xff100.tsv.gz'`;
  assert.ok(bad.why.startsWith(`the file name ${shown} is not UTF-8`), bad.why);
  // The command works in bash as printed.
  const mv = /e\.g\.: (mv -- .*)$/.exec(bad.why)![1]!;
  execFileSync('bash', ['-c', mv]);
  assert.deepEqual(await listLogFiles(join(d, '*.tsv.gz')), ['20170929000000', '20170929000200', '2017092900_100'].map((n) => join(d, `${n}.tsv.gz`)));
});

test('one listing gives the pending files and the done files; hidden folders hold neither (a .snapshot of copies)', async () => {
  const d = join(dir, 'both');
  for (const f of ['a/20170929000000.tsv.gz', 'a/.20170928235900.tsv.gz', 'b/.20170929000100.tsv.gz', 'b/20170929000200.tsv.gz', '.snapshot/20170929000300.tsv.gz', '.snapshot/.20170929000400.tsv.gz', 'a/.memc-load.lock']) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), '');
  }
  const listed = await listPattern(join(d, '*/*.tsv.gz'));
  assert.deepEqual(listed.files, [join(d, 'a/20170929000000.tsv.gz'), join(d, 'b/20170929000200.tsv.gz')]);
  assert.deepEqual(listed.done.sort(), [join(d, 'a/.20170928235900.tsv.gz'), join(d, 'b/.20170929000100.tsv.gz')]);
  // A pattern whose last part is no single name: its done files still come (by a second glob).
  const deep = await listPattern(join(d, 'a/**'));
  assert.deepEqual(deep.files, [join(d, 'a/20170929000000.tsv.gz')]);
  assert.deepEqual(deep.done, [join(d, 'a/.20170928235900.tsv.gz')]);
});

test('donePattern puts the dot before the last part of the pattern, or gives up where that part is no single name', () => {
  assert.equal(donePattern('/d/*.tsv.gz'), '/d/.*.tsv.gz');
  assert.equal(donePattern('/d/*/2017*.gz'), '/d/*/.2017*.gz');
  assert.equal(donePattern('logs/{a,b}/*.gz'), 'logs/{a,b}/.*.gz');
  assert.equal(donePattern('*.gz'), '.*.gz');
  assert.equal(donePattern('/d/{x/*.gz,y/*.gz}'), null);
  assert.equal(donePattern('/d/**'), null);
  assert.equal(donePattern('/d/'), null);
});
