/**
 * Issue #10: the last line wins when the server misbehaves. Real memcached, the real bin, every
 * value checked against the oracle.
 * - A server frozen (SIGSTOP) past --timeout while megabytes of sets wait on the abandoned
 *   sockets: they must never be applied after the resend on the new socket (the reconnect fence).
 * - A record too large for the server's items must leave the key's older value where it was:
 *   memcached unlinks the key when it refuses a set, so the loader must not send it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { checkServers, compareValues, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, TYPES } from '../../helpers/oracle.js';
import { writeRepeatKeysFile } from '../../helpers/repeat-keys.js';
import { escapeRegExp } from '../../helpers/scratch.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-llw-'));
after(async () => {
  await stopAllCli();
  await stopAll();
  rmSync(root, { recursive: true, force: true });
});

test('a server frozen past --timeout with megabytes on the abandoned sockets: no older value survives the resend', async (t) => {
  // The freeze must land while the first file's writes are unacknowledged, so that they wait on
  // the sockets that get abandoned and are resent. A loader fast enough to have every write of
  // the first file acknowledged 100 ms after it began (native encoder, inline parsing) meets the
  // freeze at that file's settle instead: the server cannot be read there, counts as possibly
  // restarted, and the run fails, rightly, but this test's fault was not made. Then it says so
  // and sets up again with files ten times larger.
  for (let attempt = 0, lines = 60_000; ; attempt++, lines *= 10) {
    const dir = join(root, `frozen-${attempt}`);
    mkdirSync(dir);
    const files = [0, 1, 2].map((i) => writeRepeatKeysFile(dir, `2017092900${i}000.tsv.gz`, i, lines));
    const expected = expectFrom(files);
    const servers = await startServers(4, { threads: 4 });
    const frozen = servers[1]!;
    // Big batches and a roomy buffer put megabytes into the frozen server's socket queues; the
    // first seconds of writes wait there, behind a zero window, when the sockets are abandoned.
    const cli = startCli(
      [
        '--pattern',
        join(dir, '*.tsv.gz'),
        '--batch-bytes',
        '1048576',
        '--max-buffered-bytes',
        String(32 * 1024 * 1024),
        '--timeout',
        '1000',
        '--connect-timeout',
        '500',
        ...serverArgs(servers.map((s) => s.address.label)),
      ],
      { timeoutMs: 90_000 },
    );
    await cli.waitForStderr(/Processing \S*20170929000000/);
    await sleep(100);
    frozen.pause();
    const lost = await cli.waitForStderr(new RegExp(`Lost connection to ${escapeRegExp(frozen.address.label)}`), 10_000).then(
      () => true,
      () => false,
    );
    if (lost) await sleep(2500); // two more timeouts: three abandoned sockets, all with bytes queued
    frozen.resume();
    const run = await cli.done;
    const missedFirstFile = new RegExp(`memcached ${escapeRegExp(frozen.address.label)} could not be read while \\S*20170929000000\\.tsv\\.gz settled`).test(run.stderr);
    if (missedFirstFile && attempt < 2) {
      t.diagnostic(`attempt ${attempt + 1}: the freeze came after every write of the first file (${lines} lines) was acknowledged, at its settle; not the fault under test: setting up again with ${lines * 10} lines a file`);
      await Promise.all(servers.map((s) => s.stop()));
      continue;
    }
    assert.ok(lost, 'the freeze cut a connection with writes in flight (the fault under test)');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));
    await sleep(1500); // anything still in flight on an abandoned socket lands meanwhile
    await checkServers(servers.map((s) => s.address), expected);
    return;
  }
});

test('a record over the server item size is rejected as too_large and leaves the older value in place', async () => {
  const dir = join(root, 'too-large');
  mkdirSync(dir);
  // memcached -I 64k: an item holds 65,536 - 59 bytes of key and value. The second file's line
  // for the same key has apps enough for a value over that, and is far under --max-line-bytes.
  const servers = await startServers(4, { args: ['-I', '64k', '-o', 'slab_chunk_max=32768'] });
  const key = 'gaid\tbig-one';
  const apps = Array.from({ length: 20_000 }, (_, i) => 1_000_000 + i).join(',');
  const lines0 = [`${key}\t55.5\t42.4\t1,2,3`, 'idfa\tother\t1.0\t2.0\t7'];
  const lines1 = [`${key}\t10.0\t20.0\t${apps}`, 'idfa\tother\t3.0\t4.0\t8'];
  writeFileSync(join(dir, '20170929000000.tsv.gz'), gzipSync(`${lines0.join('\n')}\n`));
  writeFileSync(join(dir, '20170929000100.tsv.gz'), gzipSync(`${lines1.join('\n')}\n`));
  const files = pendingFiles(dir);
  // The key keeps the first file's value; everything else is the last line's.
  const first = expectFrom(files.slice(0, 1));
  const both = expectFrom(files);
  const report = join(root, 'too-large.json');
  const run = await runCli([
    '--pattern',
    join(dir, '*.tsv.gz'),
    '--max-error-rate',
    '0.9',
    '--report',
    report,
    ...serverArgs(servers.map((s) => s.address.label)),
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));
  const json = JSON.parse(readFileSync(report, 'utf8')) as { files: { rejected: Record<string, number>; loaded: number }[] };
  assert.equal(json.files[1]!.rejected['too_large'], 1, 'the big record is rejected, not failed');
  assert.equal(json.files[1]!.loaded, 1);
  const gaid = TYPES.indexOf('gaid');
  const idfa = TYPES.indexOf('idfa');
  assert.deepEqual(await compareValues(servers[gaid]!.address, first.byType['gaid']!), { missing: 0, wrong: 0, example: '' });
  assert.deepEqual(await compareValues(servers[idfa]!.address, both.byType['idfa']!), { missing: 0, wrong: 0, example: '' });
});
