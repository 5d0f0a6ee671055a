/**
 * Files are their paths (issue #18, items 6 and 7), on one host, through the real bin and real
 * memcached: a dangling link that matches the pattern, a name that is not UTF-8, a late file
 * (older than a file of its folder already marked done), and two folders holding one file name.
 * Every run is checked against the oracle's fold of the files it loaded, in the order it loaded
 * them, and so is the rerun.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, renameSync, symlinkSync, utimesSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import type { FileReport } from '../../../src/report/file-report.js';
import { checkServers, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-pending-');
/** Four files, keys repeating across them, so order shows in the values. */
let dataset: string[];
/** Another four with the same names and other keys and values. */
let other: string[];

before(async () => {
  await generateLogs({ dir: scratch.dataset, files: 4, lines: 3000, seed: 91, repeatRate: 0.4 });
  await generateLogs({ dir: join(scratch.root, 'other'), files: 4, lines: 3000, seed: 92, repeatRate: 0.4 });
  dataset = pendingFiles(scratch.dataset);
  other = pendingFiles(join(scratch.root, 'other'));
});
after(async () => {
  await stopAllCli();
  await stopAll();
  scratch.remove();
});

const labels = (s: readonly MemcachedHandle[]) => s.map((x) => x.address.label);
const dotted = (files: readonly string[]) => files.map((f) => `.${basename(f)}`).sort();
const readReport = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { exitCode: number; files: FileReport[] };
/** The dataset's files by index, as they are in folder `dir`. */
const inDir = (dir: string, ...i: number[]) => i.map((k) => join(dir, basename(dataset[k]!)));

describe('pending files on one host', { concurrency: true }, () => {
  test('a dangling link named like a pending minute fails, is named, and holds back the later files; once its target is there the rerun loads it in order', async () => {
    const s = await startServers(4);
    const dir = scratch.copy('dangling');
    const mount = join(scratch.root, 'not-mounted-yet');
    const target = join(mount, basename(dataset[1]!));
    const [f0, f1, f2, f3] = inDir(dir, 0, 1, 2, 3) as [string, string, string, string];
    renameSync(f1, join(scratch.root, 'kept-aside.tsv.gz'));
    symlinkSync(target, f1);
    const args = ['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels(s))];
    const run = await runCli(args);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`E ${escapeRegExp(f1)}: dangling link to ${escapeRegExp(target)} \\(ENOENT\\)`));
    assert.match(run.stderr, new RegExp(`${escapeRegExp(basename(f2))}: succeeded; .* renamed=no .*; held back by ${escapeRegExp(f1)}`));
    assert.deepEqual(doneFiles(dir), dotted([f0]), 'the later files are held back');
    // Loaded without the link's minute: the later files' values were written, not marked done.
    await checkServers(s.map((x) => x.address), expectFrom([dataset[0]!, dataset[2]!, dataset[3]!]));

    mkdirSync(mount);
    copyFileSync(join(scratch.root, 'kept-aside.tsv.gz'), target);
    const rerun = await runCli(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(doneFiles(dir), dotted([f0, f1, f2, f3]));
    await checkServers(s.map((x) => x.address), expectFrom(dataset));
  });

  test('a name that is not UTF-8 fails alone, named by its bytes with the mv that renames it; the other files load and are marked done', async () => {
    const s = await startServers(4);
    const dir = scratch.copy('bytes');
    const [f0, f1, f2, f3] = inDir(dir, 0, 1, 2, 3) as [string, string, string, string];
    // Between f0 and f2 by name: before the fix it failed every run and held f2 and f3 back for ever.
    const bad = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(basename(f1).replace('.tsv.gz', '')), Buffer.from([0xff]), Buffer.from('.tsv.gz')]);
    renameSync(f1, bad);
    const report = join(scratch.root, 'bytes.json');
    const args = ['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels(s))];
    const run = await runCli([...args, '--report', report]);
    assert.equal(run.code, 1, run.stderr);
    const shown = `$'${dir}/${basename(f1).replace('.tsv.gz', '')}\\xff.tsv.gz'`;
    assert.ok(run.stderr.includes(`FAILED (not loaded); the file name ${shown} is not UTF-8`), run.stderr);
    assert.deepEqual(doneFiles(dir), dotted([f0, f2, f3]));
    assert.deepEqual(readReport(report).files.map((f) => [basename(f.path), f.outcome, f.renamed]), [
      [basename(f0), 'succeeded', true],
      [`${basename(f1).replace('.tsv.gz', '')}\uFFFD.tsv.gz`, 'failed_load', false],
      [basename(f2), 'succeeded', true],
      [basename(f3), 'succeeded', true],
    ]);
    await checkServers(s.map((x) => x.address), expectFrom([dataset[0]!, dataset[2]!, dataset[3]!]));

    // The operator renames it, as the message says, to the minute it holds: a new one here.
    const next = join(dir, '20991231235900.tsv.gz');
    execFileSync('bash', ['-c', `mv -- ${shown} '${next}'`]);
    const rerun = await runCli(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(doneFiles(dir), dotted([f0, f2, f3, next]));
    await checkServers(s.map((x) => x.address), expectFrom([dataset[0]!, dataset[2]!, dataset[3]!, dataset[1]!]));
  });

  test('a late file is not loaded by default (exit 1, named with the newer done file) and holds back no newer file; --load-late loads it, with a warning', async () => {
    const s = await startServers(4);
    const dir = scratch.copy('late');
    const [f0, f1, f2, f3] = inDir(dir, 0, 1, 2, 3) as [string, string, string, string];
    const aside = join(scratch.root, 'late-aside');
    mkdirSync(aside);
    renameSync(f1, join(aside, basename(f1)));
    renameSync(f3, join(aside, basename(f3)));
    const args = ['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels(s))];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    // f1 arrives late (a delayed copy), with the next minute f3.
    renameSync(join(aside, basename(f1)), f1);
    renameSync(join(aside, basename(f3)), f3);
    const report = join(scratch.root, 'late.json');
    const run = await runCli([...args, '--report', report]);
    assert.equal(run.code, 1, run.stderr);
    const doneF2 = join(dir, `.${basename(f2)}`);
    assert.match(
      run.stderr,
      new RegExp(`E ${escapeRegExp(f1)}: FAILED \\(not loaded\\); late: ${escapeRegExp(basename(f2))} in the same folder is already loaded \\(${escapeRegExp(doneF2)}\\), .*Load it anyway with --load-late`),
    );
    assert.deepEqual(doneFiles(dir), dotted([f0, f2, f3]), 'the newer file is loaded and marked done; the late one stays pending');
    const json = readReport(report);
    assert.equal(json.exitCode, 1);
    assert.deepEqual(json.files.map((f) => [basename(f.path), f.outcome, f.renamed, f.late]), [
      [basename(f1), 'failed_load', false, doneF2],
      [basename(f3), 'succeeded', true, null],
    ]);
    // The late file waits for the operator: not lag, but the run never says a bare "nothing pending".
    assert.equal((json as unknown as { lag: { pending: number; heldBack: number } }).lag.heldBack, 1);
    assert.equal((json as unknown as { lag: { pending: number } }).lag.pending, 0);
    assert.match(run.stderr, /Lag: nothing pending \(1 more held back for the operator: late or unreadable\)/);
    await checkServers(s.map((x) => x.address), expectFrom([dataset[0]!, dataset[2]!, dataset[3]!]));

    const anyway = await runCli([...args, '--load-late']);
    assert.equal(anyway.code, 0, anyway.stderr);
    // The newest done file of the folder is f3's now.
    assert.match(anyway.stderr, new RegExp(`W ${escapeRegExp(f1)} is late: ${escapeRegExp(basename(f3))} .*loading it anyway \\(--load-late\\): every key the two files share now holds this older file's value`));
    assert.deepEqual(doneFiles(dir), dotted([f0, f1, f2, f3]));
    // What --load-late does: the late file's lines are the last written for the keys it holds.
    await checkServers(s.map((x) => x.address), expectFrom([dataset[0]!, dataset[2]!, dataset[3]!, dataset[1]!]));
  });

  test('two folders, one file name (D/*/*.tsv.gz): both files load, both are marked done, every value right', async () => {
    const s = await startServers(4);
    const d = join(scratch.root, 'two-folders');
    scratch.copy('two-folders/a');
    scratch.copy('two-folders/b', join(scratch.root, 'other'));
    const args = ['--pattern', join(d, '*/*.tsv.gz'), ...serverArgs(labels(s))];
    const run = await runCli(args);
    assert.equal(run.code, 0, run.stderr);
    for (const sub of ['a', 'b']) assert.deepEqual(doneFiles(join(d, sub)), dotted(dataset), sub);
    // By name, then by path: a/X before b/X, minute by minute.
    const order = dataset.flatMap((f, i) => [f, other[i]!]);
    await checkServers(s.map((x) => x.address), expectFrom(order));
    const rerun = await runCli(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /No files match/);
    await checkServers(s.map((x) => x.address), expectFrom(order));
  });
});

test('watch: a late file is reported once, stays pending and fails the session; a newer file still loads', async () => {
  const s = await startServers(4);
  const dir = scratch.copy('watch-late');
  const [f0, f1, f2, f3] = inDir(dir, 0, 1, 2, 3) as [string, string, string, string];
  const aside = join(scratch.root, 'watch-aside');
  mkdirSync(aside);
  renameSync(f1, join(aside, basename(f1)));
  renameSync(f3, join(aside, basename(f3)));
  const args = ['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels(s))];
  assert.equal((await runCli(args)).code, 0);
  renameSync(join(aside, basename(f1)), f1);
  renameSync(join(aside, basename(f3)), f3);
  const past = new Date(Date.now() - 60_000);
  for (const f of [f1, f3]) utimesSync(f, past, past);
  const report = join(scratch.root, 'watch-late.json');
  const cli = startCli(['--watch', '--watch-interval', '100', '--report', report, ...args]);
  await cli.waitForStderr(new RegExp(`${escapeRegExp(basename(f3))}: succeeded;`), 30_000);
  // Many rounds (every 100 ms) after the first: the late file must still have been said once.
  await sleep(1500);
  cli.child.kill('SIGTERM');
  const run = await cli.done;
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stderr.split('\n').filter((l) => l.includes(`${f1}: FAILED (not loaded); late:`)).length, 1, run.stderr);
  assert.deepEqual(doneFiles(dir), dotted([f0, f2, f3]));
  const json = readReport(report);
  assert.deepEqual(json.files.map((f) => [basename(f.path), f.outcome, f.late !== null]), [
    [basename(f1), 'failed_load', true],
    [basename(f3), 'succeeded', false],
  ]);
  await checkServers(s.map((x) => x.address), expectFrom([dataset[0]!, dataset[2]!, dataset[3]!]));
  const anyway = await runCli([...args, '--load-late']);
  assert.equal(anyway.code, 0, anyway.stderr);
  assert.deepEqual(doneFiles(dir), dotted([f0, f1, f2, f3]));
  await checkServers(s.map((x) => x.address), expectFrom([dataset[0]!, dataset[2]!, dataset[3]!, dataset[1]!]));
});
