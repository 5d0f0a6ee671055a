/**
 * Watch mode's verdict (issue #12): a file that failed to load (a server down) and then loaded on
 * a later retry counts as succeeded, once. The exit status and the totals of a watch session say
 * which files are still failed when it stops, not how many attempts failed on the way.
 * Real memcached, the real bin, SIGTERM to stop it.
 */
import assert from 'node:assert/strict';
import { readFileSync, utimesSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { checkServers, doneFiles } from '../../helpers/check.js';
import { serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { ownLoopback, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-watch-');

before(async () => {
  await generateLogs({ dir: scratch.dataset, files: 2, lines: 2000, seed: 61, repeatRate: 0.2 });
});
after(async () => {
  await stopAllCli();
  await stopAll();
  scratch.remove();
});

interface WatchReport {
  exitCode: number;
  ok: boolean;
  totals: { files: number; succeeded: number; failed: number; renamed: number; lines: number };
  files: { path: string; outcome: string; renamed: boolean }[];
}

/**
 * A watcher on a copy of the dataset (files old enough to be taken at once) with the gaid server
 * down: every file has gaid records, so each attempt fails fast (one retry of a refused connect).
 */
async function watchWithServerDown(name: string): Promise<{ cli: ReturnType<typeof startCli>; dir: string; down: MemcachedHandle; servers: MemcachedHandle[]; reportPath: string }> {
  // Their own address: the down server's port is free meanwhile, for any other test to take.
  const servers = await startServers(4, { host: ownLoopback() });
  const down = servers[1] as MemcachedHandle;
  await down.stop();
  const dir = scratch.copy(name);
  const past = new Date(Date.now() - 60_000);
  for (const f of pendingFiles(dir)) utimesSync(f, past, past);
  const reportPath = join(scratch.root, `${name}.report.json`);
  const cli = startCli([
    '--watch',
    '--watch-interval',
    '100',
    '--retries',
    '1',
    '--connect-timeout',
    '500',
    '--report',
    reportPath,
    '--pattern',
    join(dir, '*.tsv.gz'),
    ...serverArgs(servers.map((s) => s.address.label)),
  ]);
  return { cli, dir, down, servers, reportPath };
}

describe('watch verdict', { concurrency: true }, () => {
  test('a file that failed, then loaded on a retry, counts once as succeeded: exit 0', async () => {
    const { cli, dir, down, servers, reportPath } = await watchWithServerDown('recovers');
    const files = pendingFiles(dir);
    await cli.waitForStderr(/A file failed to load; retrying it/);
    await down.restart();
    // The retry, 5 s after the failure, loads and renames both files.
    const start = Date.now();
    while (pendingFiles(dir).length > 0 && Date.now() - start < 20_000) await sleep(100);
    cli.child.kill('SIGTERM');
    const run = await cli.done;
    assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`), run.stderr);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`I Trying memcached ${escapeRegExp(down.address.label)} again`));
    assert.match(run.stderr, /I Done: 2 file\(s\), 2 succeeded, 0 failed, 2 renamed/);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as WatchReport;
    assert.equal(report.exitCode, 0);
    assert.equal(report.ok, true);
    assert.deepEqual(fileCounts(report), { files: 2, succeeded: 2, failed: 0, renamed: 2 });
    const expected = expectFrom(pendingFiles(scratch.dataset));
    assert.equal(report.totals.lines, expected.lines, 'each file counted once');
    assert.deepEqual(
      report.files.map((f) => [f.path, f.outcome, f.renamed]),
      files.map((f) => [f, 'succeeded', true]),
    );
    await checkServers(servers.map((s) => s.address), expected);
  });

  test('a file still failed when the watch stops: exit 1, each file counted once as failed', async () => {
    const { cli, dir, reportPath } = await watchWithServerDown('stays-down');
    const files = pendingFiles(dir);
    // Two failed attempts, so a verdict that counted attempts would see four failures.
    await cli.waitForStderr(/A file failed to load; retrying it[^]*A file failed to load; retrying it/, 30_000);
    cli.child.kill('SIGTERM');
    const run = await cli.done;
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /E Done: 2 file\(s\), 0 succeeded, 2 failed, 0 renamed/);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as WatchReport;
    assert.equal(report.exitCode, 1);
    assert.equal(report.ok, false);
    assert.deepEqual(fileCounts(report), { files: 2, succeeded: 0, failed: 2, renamed: 0 });
    assert.deepEqual(
      report.files.map((f) => [f.path, f.outcome]),
      files.map((f) => [f, 'failed_load']),
    );
    assert.deepEqual(doneFiles(dir), []);
  });
});

/** The report's file counts: what a verdict that counted attempts instead of files would get wrong. */
function fileCounts({ totals: t }: WatchReport): Record<'files' | 'succeeded' | 'failed' | 'renamed', number> {
  return { files: t.files, succeeded: t.succeeded, failed: t.failed, renamed: t.renamed };
}
