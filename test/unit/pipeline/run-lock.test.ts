import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveOptions } from '../../../src/config/options.js';
import { LOCK_FILE } from '../../../src/logfile/folder-lock.js';
import { withFolderLock } from '../../../src/pipeline/run-lock.js';
import { summarize } from '../../../src/report/run-report.js';
import { folderMaker } from '../../helpers/scratch.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-run-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
const folder = folderMaker(root);
const options = (dir: string, more: object = {}) => resolveOptions({ pattern: join(dir, '*.tsv.gz'), ...more });
const empty = (dir: string) => summarize([], options(dir), performance.now());

test('held while the body runs, released after it, also when it throws', async () => {
  const dir = folder();
  let inside = false;
  await withFolderLock(options(dir), {}, async () => {
    inside = existsSync(join(dir, LOCK_FILE));
    return empty(dir);
  });
  assert.equal(inside, true);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  await assert.rejects(
    withFolderLock(options(dir), {}, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

test('--dry takes no lock, and runs beside a held one', async () => {
  const dir = folder();
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, hostname: 'elsewhere', started: 'x' }));
  let ran = false;
  await withFolderLock(options(dir, { dry: true }), {}, async () => {
    ran = true;
    return empty(dir);
  });
  assert.equal(ran, true);
});

test('an abort while waiting for the lock ends the run as interrupted, without running it', async () => {
  const dir = folder();
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, hostname: 'elsewhere', started: 'x' }));
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  let ran = false;
  const report = await withFolderLock(options(dir, { waitLock: 30 }), { signal: controller.signal }, async () => {
    ran = true;
    return empty(dir);
  });
  assert.equal(ran, false);
  assert.equal(report.interrupted, true);
  assert.equal(report.files.length, 0);
});

test('process.exit inside the run (a second SIGINT) still releases the lock', () => {
  const dir = folder();
  const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const script = `
    import { withFolderLock } from ${url('../../../src/pipeline/run-lock.js')};
    import { resolveOptions } from ${url('../../../src/config/options.js')};
    await withFolderLock(resolveOptions({ pattern: process.argv[1] + '/*.tsv.gz' }), {}, async () => {
      process.stdout.write('locked\\n');
      process.exit(3);
    });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, dir], { encoding: 'utf8' });
  assert.equal(r.stdout, 'locked\n', r.stderr);
  assert.equal(r.status, 3);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});
