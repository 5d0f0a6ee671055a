/**
 * The library's load() takes loadLate as the CLI's --load-late (issue #18, item 7). --dry: no
 * server, no lock, nothing renamed; the verdict on a late file is the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { load } from '../../../src/index.js';
import { donePath } from '../../../src/logfile/mark-done.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-load-loader-late-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('load(): a late file fails with late set unless loadLate, and holds back no newer file', async () => {
  const { files } = await generateLogs({ dir, files: 3, lines: 50, seed: 5 });
  renameSync(files[1]!.path, donePath(files[1]!.path));
  const pattern = join(dir, '*.tsv.gz');
  const plain = await load({ pattern, dry: true, workers: 0 });
  assert.equal(plain.ok, false);
  assert.deepEqual(plain.files.map((f) => [basename(f.path), f.outcome, f.late]), [
    [files[0]!.name, 'failed_load', donePath(files[1]!.path)],
    [files[2]!.name, 'succeeded', null],
  ]);
  assert.match(plain.files[0]!.error ?? '', /^late: .* Load it anyway with --load-late$/);
  const anyway = await load({ pattern, dry: true, workers: 0, loadLate: true });
  assert.equal(anyway.ok, true);
  assert.deepEqual(anyway.files.map((f) => [basename(f.path), f.outcome, f.late]), [
    [files[0]!.name, 'succeeded', null],
    [files[2]!.name, 'succeeded', null],
  ]);
});
