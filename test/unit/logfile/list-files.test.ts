import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { listLogFiles } from '../../../src/logfile/list-files.js';
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
