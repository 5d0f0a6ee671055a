/**
 * Two runs on one folder (issue #10, part 2): a cron run that outlasts its minute and the next
 * one must not both load the folder, or the later one reloads older files over newer values.
 * Real bins, real memcached; run A is SIGSTOPped right after it starts a file, so the overlap
 * is certain whatever the machine's speed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { load } from '../../../src/index.js';
import { checkServers, doneFiles as dotFiles } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli, type RunningCli } from '../../helpers/cli.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, type Expected } from '../../helpers/oracle.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-lock-');
const dataset = scratch.dataset;
const LOCK = '.memc-load.lock';
/** The first three files; the fourth is kept aside for the --wait-lock test. */
let expected3: Expected;
let expected4: Expected;

before(async () => {
  await generateLogs({ dir: dataset, files: 4, lines: 20_000, seed: 71, repeatRate: 0.3 });
  const files = pendingFiles(dataset);
  expected3 = expectFrom(files.slice(0, 3));
  expected4 = expectFrom(files);
  renameSync(files[3]!, join(scratch.root, basename(files[3]!)));
});
after(async () => {
  await stopAllCli();
  await stopAll();
  scratch.remove();
});

async function setup(name: string) {
  const servers = await startServers(4);
  const addresses = servers.map((s) => s.address);
  const dir = scratch.copy(name);
  const args = ['--pattern', join(dir, '*.tsv.gz'), '--workers', '1', ...serverArgs(addresses.map((a) => a.label))];
  return { addresses, dir, args };
}

/** Starts a run and freezes it (SIGSTOP) as soon as it has begun its first file. */
async function startFrozen(args: readonly string[]): Promise<RunningCli & { pid: number }> {
  const a = startCli(args);
  await a.waitForStderr(/Processing /);
  a.child.kill('SIGSTOP');
  return Object.assign(a, { pid: a.child.pid! });
}

/** Dot-renamed logs only: the lock file is a dot file too. */
const doneFiles = (dir: string) => dotFiles(dir).filter((n) => n.endsWith('.tsv.gz'));

const heldBy = (pid: number) => new RegExp(`is being loaded by pid ${pid} on host ${escapeRegExp(hostname())} since \\d{4}-\\d\\d-\\d\\dT`);

test('a second run while one is loading loads and renames nothing, names the holder, exits 75; the first finishes with every value right', async (t) => {
  const { addresses, dir, args } = await setup('overlap');
  const a = await startFrozen(args);
  const doneBefore = doneFiles(dir);
  const b = await runCli(args, { timeoutMs: 20_000 });
  t.diagnostic(b.stderr);
  assert.equal(b.code, 75, b.stderr);
  assert.match(b.stderr, heldBy(a.pid));
  assert.match(b.stderr, new RegExp(escapeRegExp(join(dir, LOCK))));
  assert.doesNotMatch(b.stderr, /Processing /);
  assert.deepEqual(doneFiles(dir), doneBefore, 'the second run renamed nothing');
  a.child.kill('SIGCONT');
  const ra = await a.done;
  assert.equal(ra.code, 0, ra.stderr);
  assert.deepEqual(pendingFiles(dir), []);
  assert.equal(existsSync(join(dir, LOCK)), false, 'the lock is released');
  await checkServers(addresses, expected3);
});

test('a SIGKILLed run leaves its lock; the next run takes it over with a warning naming the dead pid, and loads everything', async () => {
  const { addresses, dir, args } = await setup('killed');
  const a = startCli(args);
  await a.waitForStderr(/Processing /);
  a.child.kill('SIGKILL');
  await a.done;
  const left = JSON.parse(readFileSync(join(dir, LOCK), 'utf8')) as { pid: number };
  assert.equal(left.pid, a.child.pid);
  const b = await runCli(args, { timeoutMs: 30_000 });
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, new RegExp(`W .*stale lock .*pid ${a.child.pid} on host ${escapeRegExp(hostname())}.*no longer running`));
  assert.deepEqual(pendingFiles(dir), []);
  assert.equal(existsSync(join(dir, LOCK)), false);
  await checkServers(addresses, expected3);
});

test('a lock naming pid 99999999999 (no such pid can exist) is taken over as dead; the run loads everything, and so does a rerun (issue #18, item 8)', async () => {
  const { addresses, dir, args } = await setup('absurd-pid');
  writeFileSync(join(dir, LOCK), JSON.stringify({ pid: 99_999_999_999, hostname: hostname(), started: '2026-11-29T04:00:00.000Z' }));
  const run = await runCli(args, { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /W .*took over the stale lock of pid 99999999999 on host .*no longer running/);
  assert.deepEqual(pendingFiles(dir), []);
  assert.equal(existsSync(join(dir, LOCK)), false);
  await checkServers(addresses, expected3);
  const rerun = await runCli(args, { timeoutMs: 60_000 });
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, /No files match/);
  await checkServers(addresses, expected3);
});

test('--wait-lock: gives up with 75 when the time is up; otherwise waits, then loads what the first run left', async () => {
  const { addresses, dir, args } = await setup('wait');
  const a = await startFrozen(args);
  const started = performance.now();
  const short = await runCli([...args, '--wait-lock', '1'], { timeoutMs: 20_000 });
  const waited = performance.now() - started;
  assert.equal(short.code, 75, short.stderr);
  assert.ok(waited >= 1000, `gave up after ${waited} ms`);
  assert.match(short.stderr, heldBy(a.pid));

  const b = startCli([...args, '--wait-lock', '30']);
  await b.waitForStderr(/Waiting up to 30 s for the lock/);
  // A listed its files before it froze: this newer minute is B's to load.
  const fourth = join(dir, basename(pendingFiles(scratch.root)[0]!));
  renameSync(join(scratch.root, basename(fourth)), fourth);
  a.child.kill('SIGCONT');
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  assert.doesNotMatch(ra.stderr, new RegExp(`Processing ${escapeRegExp(fourth)}`));
  assert.match(rb.stderr, new RegExp(`Processing ${escapeRegExp(fourth)}`));
  assert.deepEqual(pendingFiles(dir), []);
  assert.equal(existsSync(join(dir, LOCK)), false);
  await checkServers(addresses, expected4);
});

test('a lock held elsewhere: --dry still runs and leaves the lock alone; a load exits 75 naming the holder', async () => {
  const { dir, args } = await setup('held');
  // This test process is alive, so its pid holds the lock.
  const lock = JSON.stringify({ pid: process.pid, hostname: hostname(), started: '2026-11-29T04:00:00.000Z', pattern: 'x' });
  writeFileSync(join(dir, LOCK), lock);
  const dry = await runCli([...args, '--dry'], { timeoutMs: 30_000 });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.stdout.trim().split('\n').length, expected3.records.length);
  assert.equal(readFileSync(join(dir, LOCK), 'utf8'), lock);
  const run = await runCli(args, { timeoutMs: 20_000 });
  assert.equal(run.code, 75, run.stderr);
  assert.match(run.stderr, heldBy(process.pid));
  assert.match(run.stderr, /since 2026-11-29T04:00:00.000Z/);
  assert.equal(doneFiles(dir).length, 0);
  // The library honours the lock as the CLI does.
  await assert.rejects(load({ pattern: join(dir, '*.tsv.gz'), workers: 0 }), (err: Error & { code?: string }) => err.code === 'MCL_ERR_LOCKED' && heldBy(process.pid).test(err.message));
  assert.equal(doneFiles(dir).length, 0);

  // Another host's pid cannot be checked from here: held, even if no such pid runs here.
  writeFileSync(join(dir, LOCK), JSON.stringify({ pid: 999_999_999, hostname: 'elsewhere.example', started: '2026-11-29T04:00:00.000Z' }));
  const other = await runCli(args, { timeoutMs: 20_000 });
  assert.equal(other.code, 75, other.stderr);
  assert.match(other.stderr, /by pid 999999999 on host elsewhere\.example .*another host/);
  assert.equal(doneFiles(dir).length, 0);
});

test('watch mode holds the lock for its lifetime and releases it on SIGTERM', async () => {
  const { dir, args } = await setup('watch');
  const w = startCli([...args, '--watch', '--watch-interval', '100']);
  await w.waitForStderr(/Watching /);
  const b = await runCli(args, { timeoutMs: 20_000 });
  assert.equal(b.code, 75, b.stderr);
  assert.match(b.stderr, heldBy(w.child.pid!));
  // Stopped once it has loaded the folder: a SIGTERM mid-file would fail that file (exit 1), which
  // is not what this test is about (it did, about 1 run in 3 on a loaded machine).
  const start = Date.now();
  while (pendingFiles(dir).length > 0 && Date.now() - start < 30_000) await sleep(100);
  w.child.kill('SIGTERM');
  const rw = await w.done;
  assert.equal(rw.code, 0, rw.stderr);
  assert.equal(existsSync(join(dir, LOCK)), false);
});
