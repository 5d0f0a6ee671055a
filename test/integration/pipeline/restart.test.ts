/**
 * A memcached restarted mid-run (issue #10, part 4). The restarted server has lost every record
 * this run had stored on it, including records of files already renamed. The run must fail every
 * file from the first one that reached that server: none of them may stay marked done, and the
 * ones this run already renamed are renamed back. A rerun with every server up then restores
 * every value. Real processes: the server is SIGKILLed and a new memcached started on its port,
 * so the loader reconnects to an empty server.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import type { FileReport } from '../../../src/report/file-report.js';
import { checkServers, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { ownLoopback, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, type Expected } from '../../helpers/oracle.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-restart-');
let expected: Expected;

before(async () => {
  // Enough files that the run is still settling some after the restart is over.
  await generateLogs({ dir: scratch.dataset, files: 5, lines: 20_000, seed: 71, repeatRate: 0.3, badRate: 0.002 });
  expected = expectFrom(pendingFiles(scratch.dataset));
});
after(async () => {
  await stopAllCli();
  await stopAll();
  scratch.remove();
});

const labels = (s: readonly MemcachedHandle[]) => s.map((x) => x.address.label);
const verdict = (file: string) => new RegExp(`${escapeRegExp(basename(file))}: \\S+.* renamed=yes `);

/**
 * Loads a copy of the dataset and restarts gaid's server once the first file is marked done.
 * `beforeRestart` runs between the rename and the restart.
 */
async function loadWithRestart(name: string, beforeRestart: (dir: string, files: string[]) => void = () => {}) {
  const s = await startServers(4, { host: ownLoopback() }); // a restarted server's port is free meanwhile
  const dir = scratch.copy(name);
  const files = pendingFiles(dir);
  const report = join(scratch.root, `${name}.report.json`);
  // A small buffer keeps the reader close to the acks: later files are still loading at the restart.
  const args = ['--pattern', join(dir, '*.tsv.gz'), '--max-buffered-bytes', '65536', '--report', report, ...serverArgs(labels(s))];
  const cli = startCli(args);
  await cli.waitForStderr(verdict(files[0]!));
  beforeRestart(dir, files);
  const oldPid = s[1]!.pid;
  await s[1]!.restart();
  const run = await cli.done;
  const json = JSON.parse(readFileSync(report, 'utf8')) as { exitCode: number; files: FileReport[]; totals: { renamed: number } };
  return { s, dir, files, run, json, oldPid, args };
}

test('a server restarted mid-run: exit 1, no file from the first that reached it stays renamed; a rerun restores every value', async () => {
  const { s, dir, files, run, json, oldPid, args } = await loadWithRestart('restart');
  const gaid = s[1]!.address.label;
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`E memcached ${escapeRegExp(gaid)} restarted \\(pid ${oldPid} -> ${s[1]!.pid}\\)`));
  // Every file has gaid records, so the first file reached it: nothing may stay marked done.
  assert.deepEqual(doneFiles(dir), [], 'files whose records were on the restarted server are not left renamed');
  assert.match(run.stderr, new RegExp(`E ${escapeRegExp(files[0]!)}: renamed back: .*it will be reloaded by the next run`));
  assert.match(run.stderr, /E memcached \S+ restarted: what earlier runs stored there is gone too/);
  assert.equal(json.exitCode, 1);
  assert.equal(json.totals.renamed, 0);
  assert.deepEqual(json.files.map((f) => [f.outcome, f.renamed]), files.map(() => ['failed_load', false]));
  for (const f of json.files) assert.match(f.error ?? '', new RegExp(`memcached ${escapeRegExp(gaid)} restarted \\(pid ${oldPid} -> \\d+\\)`));

  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));
  await checkServers(s.map((x) => x.address), expected);
});

test('a file renamed before the restart that cannot be renamed back: the exact mv command is logged and reported', async () => {
  let blocker = '';
  const { dir, files, run, json } = await loadWithRestart('blocked', (dir, files) => {
    // Something now sits at the first file's original name: renaming back would replace it.
    blocker = files[0]!;
    writeFileSync(blocker, 'not a log\n');
  });
  assert.equal(run.code, 1, run.stderr);
  const mv = `mv -- '${join(dir, `.${basename(files[0]!)}`)}' '${files[0]!}'`;
  assert.ok(run.stderr.includes(mv), `the log names the command:\n${run.stderr}`);
  assert.match(run.stderr, new RegExp(`E ${escapeRegExp(files[0]!)}: could not rename it back \\(.*EEXIST.*\\)`));
  assert.equal(readFileSync(blocker, 'utf8'), 'not a log\n', 'the file in the way is untouched');
  const first = json.files[0]!;
  assert.equal(first.outcome, 'failed_load');
  assert.equal(first.renamed, true, 'it is still marked done, and the report says so');
  assert.ok(first.error?.includes(mv), first.error ?? '');
  // Done files stay a prefix: at most the one that could not be renamed back.
  assert.deepEqual(doneFiles(dir), [`.${basename(files[0]!)}`]);
  assert.equal(json.exitCode, 1);
});
