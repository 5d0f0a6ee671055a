import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MemcLoadError } from '../../../src/errors.js';
import { acquireFolderLock, GARBAGE_STALE_MS, judge, LOCK_FILE, patternFolder, procStart, selfHolder, type LockHolder } from '../../../src/logfile/folder-lock.js';
import { folderMaker } from '../../helpers/scratch.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-folder-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
const folder = folderMaker(root);
const me = () => selfHolder('/x/*.tsv.gz');
const lockPath = (dir: string) => join(dir, LOCK_FILE);
const writeLock = (dir: string, h: Partial<LockHolder>) =>
  writeFileSync(lockPath(dir), JSON.stringify({ hostname: hostname(), started: '2026-11-29T04:00:00.000Z', ...h }));
const isLocked = (re: RegExp) => (err: unknown) => err instanceof MemcLoadError && err.code === 'MCL_ERR_LOCKED' && re.test(err.message);

/** A pid that ran and has exited, so nothing runs under it now (pids are not reused this soon). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test('patternFolder: the static folder part of the glob, absolute', () => {
  const cases: [string, string][] = [
    ['/data/appsinstalled/*.tsv.gz', '/data/appsinstalled'],
    ['/data/appsinstalled/20170929000000.tsv.gz', '/data/appsinstalled'],
    ['/data/*/x/*.tsv.gz', '/data'],
    ['/data/{a,b}/*.tsv.gz', '/data'],
    ['/data/**/*.tsv.gz', '/data'],
    ['/data/a[0-9]/*.gz', '/data'],
    ['/*.tsv.gz', '/'],
    ['*.tsv.gz', '/work'],
    ['logs/*.tsv.gz', '/work/logs'],
    ['../logs/*.tsv.gz', '/logs'],
  ];
  for (const [pattern, dir] of cases) assert.equal(patternFolder(pattern, '/work'), dir, pattern);
});

test('a free folder is locked with who holds it; a second acquire is refused naming the holder; release frees it', async () => {
  const dir = folder();
  const got = await acquireFolderLock(dir, me());
  assert.ok(got);
  assert.equal(got.tookOver, null);
  const held = JSON.parse(readFileSync(lockPath(dir), 'utf8')) as LockHolder;
  assert.equal(held.pid, process.pid);
  assert.equal(held.hostname, hostname());
  assert.equal(held.pattern, '/x/*.tsv.gz');
  assert.equal(held.procStart, procStart(process.pid));
  assert.ok(!Number.isNaN(Date.parse(held.started)));
  await assert.rejects(
    acquireFolderLock(dir, me()),
    isLocked(new RegExp(`${dir} is being loaded by pid ${process.pid} on host ${hostname()} since ${held.started} \\(lock file ${lockPath(dir)}\\)`)),
  );
  assert.equal(await got.lock.release(), true);
  assert.equal(existsSync(lockPath(dir)), false);
  const again = await acquireFolderLock(dir, me());
  assert.ok(again);
  await again.lock.release();
});

test('a folder that does not exist needs no lock', async () => {
  assert.equal(await acquireFolderLock(join(root, 'no-such-folder'), me()), null);
});

test('a lock whose pid is dead is taken over, naming the dead holder', async () => {
  const dir = folder();
  const pid = deadPid();
  writeLock(dir, { pid });
  const got = await acquireFolderLock(dir, me());
  assert.ok(got?.tookOver);
  assert.equal(got.tookOver.why, 'dead');
  assert.equal(got.tookOver.holder?.pid, pid);
  assert.equal((JSON.parse(readFileSync(lockPath(dir), 'utf8')) as LockHolder).pid, process.pid);
  await got.lock.release();
});

test('a pid no process can have (above the kernel\'s pid_max) is a dead holder, not one held for ever (issue #18, item 8)', async () => {
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1'));
  for (const pid of [99_999_999_999, pidMax + 1]) {
    const dir = folder();
    writeLock(dir, { pid });
    const got = await acquireFolderLock(dir, me());
    assert.equal(got?.tookOver?.why, 'dead', `pid ${pid}`);
    assert.equal(got?.tookOver?.holder?.pid, pid);
    await got?.lock.release();
  }
});

test('pid reuse: a live pid with another start time than the lock recorded is stale', { skip: procStart(process.pid) === null && 'no /proc' }, async () => {
  const dir = folder();
  writeLock(dir, { pid: process.pid, procStart: '1' });
  const got = await acquireFolderLock(dir, me());
  assert.equal(got?.tookOver?.why, 'pid_reused');
  await got?.lock.release();
  // The same pid with the start time it really has holds the lock.
  writeLock(dir, { pid: process.pid, procStart: procStart(process.pid) });
  await assert.rejects(acquireFolderLock(dir, me()), isLocked(/being loaded by pid/));
});

test('a lock from before a reboot (another boot id) is stale', () => {
  const holder = { pid: process.pid, hostname: hostname(), started: 'x', bootId: 'old-boot' };
  const v = judge(JSON.stringify(holder), Date.now(), { ...me(), bootId: 'new-boot' });
  assert.deepEqual(v, { kind: 'stale', holder, why: 'rebooted' });
  assert.equal(judge(JSON.stringify(holder), Date.now(), { ...me(), bootId: null }).kind, 'held');
});

test('a lock on another host is held, even if its pid is not running here', async () => {
  const dir = folder();
  writeLock(dir, { pid: deadPid(), hostname: 'elsewhere.example' });
  await assert.rejects(acquireFolderLock(dir, me()), isLocked(/on host elsewhere\.example .*another host.*delete the lock file/));
});

test('garbage in the lock file: held while fresh (a holder may be writing it), stale once a few seconds old', async () => {
  for (const garbage of ['', '{"pid":', 'null', '{"pid":-1,"hostname":"h","started":"x"}', '[]']) {
    assert.equal(judge(garbage, 1000, me(), 1000 + GARBAGE_STALE_MS - 1).kind, 'held_unreadable', garbage);
    assert.deepEqual(judge(garbage, 1000, me(), 1000 + GARBAGE_STALE_MS), { kind: 'stale', holder: null, why: 'unreadable' }, garbage);
  }
  const dir = folder();
  writeFileSync(lockPath(dir), '\0\0\0');
  await assert.rejects(acquireFolderLock(dir, me()), isLocked(/cannot be read yet/));
  const old = (Date.now() - GARBAGE_STALE_MS - 1000) / 1000;
  utimesSync(lockPath(dir), old, old);
  const got = await acquireFolderLock(dir, me());
  assert.equal(got?.tookOver?.why, 'unreadable');
  await got?.lock.release();
});

test('release removes only our own lock file', async () => {
  const dir = folder();
  const got = await acquireFolderLock(dir, me());
  assert.ok(got);
  const theirs = JSON.stringify({ pid: 1, hostname: hostname(), started: 'later' });
  writeFileSync(lockPath(dir), theirs);
  assert.equal(await got.lock.release(), false);
  got.lock.releaseSync();
  assert.equal(readFileSync(lockPath(dir), 'utf8'), theirs);

  const dir2 = folder();
  const sync = await acquireFolderLock(dir2, me());
  sync?.lock.releaseSync();
  assert.equal(existsSync(lockPath(dir2)), false);
});

test('runs that all find the same stale lock: exactly one takes it over', async () => {
  const pid = deadPid();
  for (let round = 0; round < 30; round++) {
    const dir = folder();
    writeLock(dir, { pid });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireFolderLock(dir, me())));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
    for (const r of results) if (r.status === 'rejected') assert.ok(isLocked(/./)(r.reason), String(r.reason));
    assert.deepEqual(readdirSync(dir), [LOCK_FILE], 'no takeover file left behind');
  }
});

test('a takeover file left by a run that died mid-takeover is cleared once old', async () => {
  const dir = folder();
  writeLock(dir, { pid: deadPid() });
  writeFileSync(`${lockPath(dir)}.takeover`, '1\n');
  await assert.rejects(acquireFolderLock(dir, me()), isLocked(/taking over/));
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(`${lockPath(dir)}.takeover`, old, old);
  const got = await acquireFolderLock(dir, me());
  assert.equal(got?.tookOver?.why, 'dead');
  await got?.lock.release();
});
