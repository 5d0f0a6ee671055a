/**
 * Late files (issue #18, item 7): a pending file older than a file of its folder already marked
 * done. logfile/late-files.ts is the one rule both modes ask; pending.ts applies it to a run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lateFiles, lateLoadWarning, lateReason } from '../../../src/logfile/late-files.js';
import { listPattern } from '../../../src/logfile/list-files.js';
import { selectPending } from '../../../src/logfile/pending.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-late-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A folder holding `names` (empty files). */
function folder(names: readonly string[]): string {
  const d = join(root, `f${n++}`);
  mkdirSync(d, { recursive: true });
  for (const name of names) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), '');
  }
  return d;
}
/** lateFiles over what the pattern lists: its pending files and its done files, from one listing. */
const lateOf = async (pattern: string) => {
  const { files, done } = await listPattern(pattern);
  return lateFiles(done, files);
};
const late = async (pattern: string) => Object.fromEntries([...(await lateOf(pattern))].map(([p, d]) => [basename(p), basename(d)]));

describe('lateFiles', () => {
  it('a pending file older than the newest done file of its folder is late; newer ones are not', async () => {
    const d = folder(['.20170929000100.tsv.gz', '20170929000000.tsv.gz', '.20170929000300.tsv.gz', '20170929000200.tsv.gz', '20170929000400.tsv.gz']);
    assert.deepEqual(await late(join(d, '*.tsv.gz')), { '20170929000000.tsv.gz': '.20170929000300.tsv.gz', '20170929000200.tsv.gz': '.20170929000300.tsv.gz' });
  });

  it('nothing done: nothing is late; nothing pending: an empty answer', async () => {
    const d = folder(['20170929000000.tsv.gz', '20170929000100.tsv.gz']);
    assert.deepEqual(await late(join(d, '*.tsv.gz')), {});
    assert.equal(lateFiles((await listPattern(join(d, '*.tsv.gz'))).done, []).size, 0);
  });

  it('folders are independent: a done file makes late only the older files of its own folder', async () => {
    const d = folder(['a/.20170929000500.tsv.gz', 'a/20170929000100.tsv.gz', 'b/20170929000200.tsv.gz', 'b/.20170929000000.tsv.gz']);
    const got = await lateOf(join(d, '*/*.tsv.gz'));
    assert.deepEqual([...got], [[join(d, 'a/20170929000100.tsv.gz'), join(d, 'a/.20170929000500.tsv.gz')]]);
  });

  it('a tie (the same name pending and done, a copy restored beside its done file) is not late; dot names that are not the pattern\'s done files are ignored', async () => {
    const d = folder(['.20170929000100.tsv.gz', '20170929000100.tsv.gz', '.memc-load.lock', '.20170929000900.tsv.gz.part']);
    assert.deepEqual(await late(join(d, '*.tsv.gz')), {});
  });
});

describe('selectPending', () => {
  it('leaves late files out, failed with lateReason, holding back nothing; --load-late loads them and names them for the warning', async () => {
    const d = folder(['20170929000000.tsv.gz', '.20170929000100.tsv.gz', '20170929000200.tsv.gz']);
    const pattern = join(d, '*.tsv.gz');
    const sel = await selectPending(pattern, false);
    assert.deepEqual(sel.load, [join(d, '20170929000200.tsv.gz')]);
    assert.deepEqual(sel.notLoaded, [{ path: join(d, '20170929000000.tsv.gz'), why: lateReason(join(d, '.20170929000100.tsv.gz')), late: join(d, '.20170929000100.tsv.gz') }]);
    assert.match(sel.notLoaded[0]!.why, /^late: 20170929000100\.tsv\.gz in the same folder is already loaded .* Load it anyway with --load-late$/);
    const anyway = await selectPending(pattern, true);
    assert.deepEqual(anyway.load, [join(d, '20170929000000.tsv.gz'), join(d, '20170929000200.tsv.gz')]);
    assert.deepEqual(anyway.notLoaded, []);
    assert.deepEqual(anyway.lateLoaded, [{ path: join(d, '20170929000000.tsv.gz'), done: join(d, '.20170929000100.tsv.gz') }]);
    assert.match(lateLoadWarning(anyway.lateLoaded[0]!.path, anyway.lateLoaded[0]!.done), /every key the two files share now holds this older file's value, not 20170929000100\.tsv\.gz's/);
  });

  it('with a plan (the cluster): its files are not pending; in flight, a newer planned file of a folder makes the older pending ones late there only', async () => {
    const d = folder(['a/20170929000000.tsv.gz', 'a/20170929000200.tsv.gz', 'a/20170929000300.tsv.gz', 'b/20170929000100.tsv.gz']);
    const pattern = join(d, '*/*.tsv.gz');
    const planned = { id: 'p7', files: [join(d, 'a/20170929000200.tsv.gz')], inFlight: true };
    const sel = await selectPending(pattern, false, { planned });
    assert.deepEqual(sel.load, [join(d, 'b/20170929000100.tsv.gz'), join(d, 'a/20170929000300.tsv.gz')]);
    assert.deepEqual(sel.notLoaded.map((x) => [x.path, x.late]), [[join(d, 'a/20170929000000.tsv.gz'), join(d, 'a/20170929000200.tsv.gz')]]);
    assert.match(sel.notLoaded[0]!.why, /^late: .*a\/20170929000200\.tsv\.gz in the same folder is planned ahead of it in plan p7/);
    const settled = await selectPending(pattern, false, { planned: { ...planned, inFlight: false } });
    assert.equal(settled.load.length, 3, 'a settled plan makes nothing late; its own files are still left out');
    assert.deepEqual(settled.notLoaded, []);
  });

  it('the folder lock is no done file: a pattern that matches it (dir/*) while a run holds the folder makes nothing late', async () => {
    const d = folder(['20170929000000.tsv.gz', '.20170928235900.tsv.gz', '.memc-load.lock', '.memc-load.lock.takeover']);
    const sel = await selectPending(join(d, '*'), false);
    assert.deepEqual(sel.load, [join(d, '20170929000000.tsv.gz')]);
    assert.deepEqual(sel.notLoaded, []);
    assert.deepEqual(sel.done, [join(d, '.20170928235900.tsv.gz')]);
  });

  it('files the caller names (hooks.files) keep their order; a name among them that is not UTF-8 is left out with its mv, as a listed one is', async () => {
    const d = folder(['20170929000000.tsv.gz', '20170929000200.tsv.gz', '.20170929000100.tsv.gz']);
    writeFileSync(Buffer.from(`${d}/2017092900\xff300.tsv.gz`, 'latin1'), '');
    const bad = join(d, '2017092900\uFFFD300.tsv.gz');
    const given = [join(d, '20170929000200.tsv.gz'), bad, join(d, '20170929000000.tsv.gz')];
    const sel = await selectPending(join(d, '*.tsv.gz'), true, { listed: given });
    assert.deepEqual(sel.load, [join(d, '20170929000200.tsv.gz'), join(d, '20170929000000.tsv.gz')], 'in the order given, without the bad name');
    assert.deepEqual(sel.notLoaded.map((x) => x.path), [bad]);
    assert.match(sel.notLoaded[0]!.why, /is not UTF-8, so it cannot be opened by name; .* e\.g\.: mv -- /);
    assert.deepEqual(sel.lateLoaded, [{ path: join(d, '20170929000000.tsv.gz'), done: join(d, '.20170929000100.tsv.gz') }], 'the late rule still reads the pattern\'s done files');
  });
});
