/**
 * SIGINT / SIGTERM through the real bin (issue #4): the run stops reading, settles or abandons
 * what is in flight within a few seconds, renames nothing that memcached has not acknowledged,
 * and exits 130 / 143; a second signal exits at once. A rerun then completes.
 */
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { ServerAddress } from '../../../src/config/servers.js';
import { generateLogs } from '../../../src/generate/index.js';
import { checkServers, doneFiles, readValues } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { encode, expectFrom, pendingFiles, TYPES, type Expected } from '../../helpers/oracle.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-signals-');
const dataset = scratch.dataset;
let expected: Expected;

before(async () => {
  // Three files big enough that the run is still reading when file 2 starts.
  await generateLogs({ dir: dataset, files: 3, lines: 40_000, seed: 51, repeatRate: 0.3 });
  expected = expectFrom(pendingFiles(dataset));
});
after(async () => {
  await stopAllCli();
  await stopAll();
  scratch.remove();
});



/**
 * The renames after an interrupted run: a prefix of the files, and every record of every renamed
 * file is in memcached, holding its value or the value of a later line for the same key (a later
 * file may have been partly loaded before the signal). Returns how many files were renamed.
 */
async function checkRenamedAreAcknowledged(dir: string, files: readonly string[], addresses: readonly ServerAddress[]): Promise<number> {
  const done = doneFiles(dir);
  const renamed = files.filter((f) => done.includes(`.${basename(f)}`));
  assert.deepEqual(renamed, files.slice(0, renamed.length), 'renamed files are a prefix');
  if (renamed.length === 0) return 0;
  const prefix = expectFrom(renamed.map((f) => join(dir, `.${basename(f)}`)));
  const later = new Map<string, Set<string>>();
  const inPrefix = (key: string) => TYPES.some((t) => prefix.byType[t]!.has(key));
  for (const r of expectFrom(pendingFiles(dir)).records) {
    if (inPrefix(r.key)) later.set(r.key, (later.get(r.key) ?? new Set()).add(encode(r).toString('hex')));
  }
  for (const [i, type] of TYPES.entries()) {
    const want = prefix.byType[type]!;
    const keys = [...want.keys()];
    const got = await readValues(addresses[i]!, keys);
    let bad = 0;
    for (const [j, key] of keys.entries()) {
      const hex = got[j]?.toString('hex');
      if (hex === undefined || (hex !== want.get(key)!.toString('hex') && !later.get(key)?.has(hex))) bad++;
    }
    assert.equal(bad, 0, `${bad} record(s) of renamed files missing or stale on ${addresses[i]!.label}`);
  }
  return renamed.length;
}

test('SIGINT mid-run: exit 130 within seconds, only acknowledged files renamed; a rerun completes', async (t) => {
  const servers = await startServers(4);
  const addresses = servers.map((s) => s.address);
  const dir = scratch.copy('sigint');
  const files = pendingFiles(dir);
  const args = ['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(addresses.map((a) => a.label))];
  const cli = startCli(args);
  await cli.waitForStderr(new RegExp(`Processing \\S*${escapeRegExp(basename(files[1]!))}`));
  const signalledAt = performance.now();
  cli.child.kill('SIGINT');
  const run = await cli.done;
  const stopMs = performance.now() - signalledAt;
  t.diagnostic(`exited ${Math.round(stopMs)} ms after SIGINT`);
  assert.equal(run.code, 130, run.stderr);
  assert.ok(stopMs < 5000, `stopped in ${stopMs} ms`);
  assert.match(run.stderr, /W SIGINT: stopping; waiting briefly for acknowledgements/);
  // Normally file 2; file 3 on a machine fast enough to finish reading file 2 first. A signal
  // that lands before the file's first line (the native inflater gets there sooner) names no line.
  assert.match(
    run.stderr,
    new RegExp(`^\\S+ \\S+ E (${escapeRegExp(files[1]!)}|${escapeRegExp(files[2]!)}): interrupted(, after line \\d+ of the file \\(blank lines included\\)|$)`, 'm'),
    'the file being read fails',
  );
  assert.match(run.stderr, /E Done: .*; interrupted$/m);
  const renamed = await checkRenamedAreAcknowledged(dir, files, addresses);
  assert.ok(renamed <= 2, 'the file being read is not renamed');

  const rerun = await runCli(args);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(pendingFiles(dir), []);
  await checkServers(addresses, expected);
});

test('SIGTERM mid-run: exit 143, only acknowledged files renamed', async () => {
  const servers = await startServers(4);
  const addresses = servers.map((s) => s.address);
  const dir = scratch.copy('sigterm');
  const files = pendingFiles(dir);
  const cli = startCli(['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(addresses.map((a) => a.label))]);
  await cli.waitForStderr(new RegExp(`Processing \\S*${escapeRegExp(basename(files[1]!))}`));
  cli.child.kill('SIGTERM');
  const run = await cli.done;
  assert.equal(run.code, 143, run.stderr);
  assert.match(run.stderr, /W SIGTERM: stopping/);
  await checkRenamedAreAcknowledged(dir, files, addresses);
  assert.ok(pendingFiles(dir).length >= 2);
});

/**
 * The loader on a copy of the data, with server `frozen` SIGSTOPped once reading has begun and
 * `settleMs` to get stuck. A small buffer: the reader is soon blocked waiting for room on it.
 */
async function startWithFrozenServer(name: string, frozen: number, settleMs: number): Promise<{ cli: ReturnType<typeof startCli>; dir: string }> {
  const servers = await startServers(4);
  const dir = scratch.copy(name);
  const cli = startCli(['--pattern', join(dir, '*.tsv.gz'), '--max-buffered-bytes', '65536', ...serverArgs(servers.map((s) => s.address.label))]);
  await cli.waitForStderr(/Processing /);
  (servers[frozen] as MemcachedHandle).pause();
  await sleep(settleMs);
  return { cli, dir };
}

describe('with a server frozen, so acknowledgements never come', { concurrency: true }, () => {
  test('one SIGINT: in-flight batches are abandoned after ~3 s, nothing with unacknowledged writes is renamed, exit 130', async (t) => {
    const { cli, dir } = await startWithFrozenServer('sigint-frozen', 0, 700);
    const signalledAt = performance.now();
    cli.child.kill('SIGINT');
    const run = await cli.done;
    const stopMs = performance.now() - signalledAt;
    t.diagnostic(`exited ${Math.round(stopMs)} ms after SIGINT`);
    assert.equal(run.code, 130, run.stderr);
    assert.ok(stopMs >= 2500 && stopMs < 6000, `abandoned after ${stopMs} ms`);
    assert.deepEqual(doneFiles(dir), [], 'the first file had writes on the frozen server');
    assert.match(run.stderr, /interrupted before the server acknowledged/);
  });

  test('a second SIGINT exits at once', async (t) => {
    const { cli, dir } = await startWithFrozenServer('sigint-twice', 1, 300);
    cli.child.kill('SIGINT');
    await cli.waitForStderr(/SIGINT: stopping/);
    const secondAt = performance.now();
    cli.child.kill('SIGINT');
    const run = await cli.done;
    const stopMs = performance.now() - secondAt;
    t.diagnostic(`exited ${Math.round(stopMs)} ms after the second SIGINT`);
    assert.equal(run.code, 130, run.stderr);
    assert.ok(stopMs < 1500, `exited ${stopMs} ms after the second signal`);
    assert.match(run.stderr, /E SIGINT again: exiting now/);
    assert.deepEqual(doneFiles(dir), []);
  });
});
