/**
 * Loss inside memcached (issue #4). Under quiet sets a full server evicts silently; memc-load
 * reads `evictions` and `store_no_memory` from `stats` before the run and as each file settles,
 * and reports any rise with the server's address: a warning by default, a failed load with
 * --fail-on-evictions. With `-M` memcached refuses instead: SERVER_ERROR out of memory replies are
 * failed writes of the file, counted with their reason, and the run goes on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { stats } from '../../../src/memcached/admin.js';
import { checkServers, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { ownLoopback, startMemcached, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-evict-');
const dataset = scratch.dataset;

before(async () => {
  // ~22,000 distinct dvid keys: more than a 2 MB memcached holds (~19,000 of these items).
  await generateLogs({ dir: dataset, files: 3, lines: 30_000, seed: 61 });
});
after(async () => {
  await stopAllCli();
  await stopAll();
  scratch.remove();
});



/** Three roomy servers and a tiny one for dvid. */
async function servers(tinyArgs: readonly string[]): Promise<MemcachedHandle[]> {
  const roomy = await startServers(3);
  const tiny = await startMemcached({ memoryMb: 2, args: tinyArgs });
  return [...roomy, tiny];
}

/** Each file's verdict line, in file order, with the evictions it reports for `server`. */
function verdicts(stderr: string, files: readonly string[], server: string): { line: string; evicted: number }[] {
  return files.map((f) => {
    const line = stderr.split('\n').find((l) => l.includes(`${basename(f)}: `) && / lines=\d+/.test(l)) ?? '';
    const m = new RegExp(`evictions=\\d+ \\([^)]*${escapeRegExp(server)}=(\\d+)`).exec(line);
    return { line, evicted: m ? Number(m[1]) : 0 };
  });
}

test('evictions: a warning naming the server and the count; every eviction is charged to some file; exit 0', async () => {
  const s = await servers([]);
  const dvid = s[3]!.address.label;
  const dir = scratch.copy('warn');
  const files = pendingFiles(dir);
  const reportFile = join(scratch.root, 'warn-report.json');
  const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--report', reportFile, ...serverArgs(s.map((x) => x.address.label))]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`), 'evictions alone do not stop renames');
  assert.match(run.stderr, new RegExp(`W memcached ${escapeRegExp(dvid)} evicted \\d+ item\\(s\\) while \\S+ settled: items stored earlier may be gone`));
  const total = Number((await stats(s[3]!.address))['evictions']);
  assert.ok(total > 0, 'the tiny server evicted');
  const v = verdicts(run.stderr, files, dvid);
  assert.equal(v.reduce((a, x) => a + x.evicted, 0), total, 'the reported rises add up to the counter');
  for (const x of v) assert.match(x.line, /: succeeded; /);
  // The run's totals carry them too (issue #12): the Done line and the report.
  assert.match(run.stderr, new RegExp(`I Done: 3 file\\(s\\), .* failed_writes=0 evictions=${total} \\(${escapeRegExp(dvid)}=${total}\\) in `));
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { totals: { evictions: Record<string, number>; evictionsTotal: number } };
  assert.deepEqual(report.totals.evictions, { [dvid]: total });
  assert.equal(report.totals.evictionsTotal, total);
});

test('evictions with --fail-on-evictions: the file fails to load, it and every later file stay pending, exit 1', async () => {
  const s = await servers([]);
  const dvid = s[3]!.address.label;
  const dir = scratch.copy('fail');
  const files = pendingFiles(dir);
  const args = ['--pattern', join(dir, '*.tsv.gz'), '--fail-on-evictions', ...serverArgs(s.map((x) => x.address.label))];
  const run = await runCli(args);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`E memcached ${escapeRegExp(dvid)} evicted \\d+ item\\(s\\) while \\S+ settled: the file fails to load \\(--fail-on-evictions\\)`));
  const v = verdicts(run.stderr, files, dvid);
  const first = v.findIndex((x) => x.evicted > 0);
  assert.ok(first >= 0);
  assert.match(v[first]!.line, /FAILED \(not fully loaded\).*renamed=no .*; memcached \S+ evicted \d+ item\(s\) while \S+ settled \(--fail-on-evictions\)/);
  assert.deepEqual(doneFiles(dir), files.slice(0, first).map((f) => `.${basename(f)}`), 'renames stop at the first file with evictions');
  assert.equal(v.reduce((a, x) => a + x.evicted, 0), Number((await stats(s[3]!.address))['evictions']));
});

test('-M (no evictions): SERVER_ERROR out of memory is a failed write with its reason; the run goes on; exit 1', async () => {
  const s = await servers(['-M']);
  const dvid = s[3]!.address.label;
  const dir = scratch.copy('nomem');
  const files = pendingFiles(dir);
  const expected = expectFrom(files);
  const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(s.map((x) => x.address.label))]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`W ${escapeRegExp(dvid)} answered SERVER_ERROR out of memory storing object to a record of \\S+; such writes are counted as failed`));
  const lines = verdicts(run.stderr, files, dvid).map((x) => x.line);
  assert.equal(lines.filter((l) => l !== '').length, files.length, 'every file was read and reported');
  let failed = 0;
  let firstFailed = -1;
  for (const [i, line] of lines.entries()) {
    const m = new RegExp(`failed_writes=(\\d+) `).exec(line);
    const n = Number(m?.[1] ?? 0);
    if (n === 0) continue;
    failed += n;
    if (firstFailed < 0) firstFailed = i;
    assert.match(line, new RegExp(`FAILED \\(not fully loaded\\).*failed_writes=${n} \\(${escapeRegExp(dvid)}=${n}\\).*; ${n} write\\(s\\) refused by ${escapeRegExp(dvid)}: SERVER_ERROR out of memory storing object`));
  }
  assert.ok(firstFailed >= 0, 'memcached ran out of memory');
  assert.equal(failed, Number((await stats(s[3]!.address))['store_no_memory']), 'every refusal is counted once');
  assert.deepEqual(doneFiles(dir), files.slice(0, firstFailed).map((f) => `.${basename(f)}`));
  // The other servers got every record of every file.
  await checkServers(s.map((x) => x.address), expected, { types: ['idfa', 'gaid', 'adid'] });
});

test('a server restarted mid-run (its items are gone): a failed load with or without --fail-on-evictions', async () => {
  const s = await startServers(4, { host: ownLoopback() }); // gaid's port is free while it restarts
  const gaid = s[1]!.address.label;
  for (const failOn of [false, true]) {
    const dir = scratch.copy(`restart-${failOn}`);
    const files = pendingFiles(dir);
    const args = ['--pattern', join(dir, '*.tsv.gz'), '--max-buffered-bytes', '65536', ...serverArgs(s.map((x) => x.address.label))];
    const cli = startCli(failOn ? [...args, '--fail-on-evictions'] : args);
    await cli.waitForStderr(new RegExp(`Processing \\S*${escapeRegExp(basename(files[1]!))}`));
    await s[1]!.restart();
    const run = await cli.done;
    assert.match(run.stderr, new RegExp(`E evictions on ${escapeRegExp(gaid)} not checked while \\S+ settled: memcached restarted \\(pid \\d+ -> \\d+\\): items stored before are gone`));
    // The flag governs evictions only: a restart fails the run either way (restart.test.ts has the details).
    assert.equal(run.code, 1, run.stderr);
    assert.ok(doneFiles(dir).length < files.length, 'the file during which it restarted is not renamed');
    assert.doesNotMatch(run.stderr, /evictions on \S+ unknown: memcached restarted/, 'not charged as an unknown eviction rise');
  }
});
