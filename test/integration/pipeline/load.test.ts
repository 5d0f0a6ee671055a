/**
 * The loader end to end, through the real bin, against four real memcached processes: every key
 * read back and compared byte for byte with an independent oracle (test/helpers/oracle.ts).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { getMany, stats } from '../../../src/memcached/admin.js';
import { checkServers, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { stopAll, withServers, type MemcachedHandle } from '../../helpers/memcached.js';
import { decode, expectFrom, pendingFiles, TYPES } from '../../helpers/oracle.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-it-');
const root = scratch.root;
const dataset = scratch.dataset;

before(async () => {
  // Heavy key reuse within and across files, every malformed kind, blank lines, CRLF, and
  // multi-member gzip: all the shapes a real feed has, under the 1% error threshold.
  await generateLogs({ dir: dataset, files: 3, lines: 4000, seed: 7, repeatRate: 0.4, badRate: 0.006, blankRate: 0.01, crlf: true, multiMember: true, keyPool: 500 });
});
after(async () => {
  await stopAll();
  scratch.remove();
});

/**
 * `--workers auto` with MEMC_LOAD_TEST_AUTO_THREADS=AFTER:THREADS (a test-only hook,
 * pipeline/auto-threads.ts): its threads start once AFTER chunks went inline, mid-file, so inline
 * and thread results meet in the sequencer; the log line proves the switch happened.
 */
const forcedEnv = (hook: string) => ({ ...process.env, MEMC_LOAD_TEST_AUTO_THREADS: hook });
const FORCED = /I workers auto: starting 2 encoder thread\(s\): forced by MEMC_LOAD_TEST_AUTO_THREADS/;

// The default inflates on the reading thread; --gunzip pool, on libuv's thread pool.
const RUNS: { workers: number | 'auto'; gunzip: 'inline' | 'pool'; forced?: string }[] = [
  ...[0, 1, 2, 4, 'auto' as const].map((workers) => ({ workers, gunzip: 'inline' as const })),
  { workers: 'auto', gunzip: 'inline', forced: '3:2' },
  { workers: 0, gunzip: 'pool' },
  { workers: 2, gunzip: 'pool' },
];
for (const { workers, gunzip, forced } of RUNS) {
  describe(`--workers ${workers} --gunzip ${gunzip}${forced ? `, threads forced after ${forced.split(':')[0]} chunks` : ''}`, () => {
    test('every key holds the last line naming it, every file is renamed, exit 0', async () => {
      await withServers(4, async (servers) => {
        const dir = scratch.copy(`w${workers}-${gunzip}${forced ? '-forced' : ''}`);
        const files = pendingFiles(dir);
        const expected = expectFrom(files);
        assert.ok(expected.records.length > new Set(expected.records.map((r) => r.key)).size * 1.2, 'the data repeats keys');
        const args = ['--pattern', join(dir, '*.tsv.gz'), '--workers', String(workers), '--gunzip', gunzip, '--batch-bytes', '65536', ...serverArgs(servers.map((s) => s.address.label))];
        const run = await runCli(args, forced ? { env: forcedEnv(forced) } : {});
        assert.equal(run.code, 0, run.stderr);
        if (forced) assert.match(run.stderr, FORCED);
        assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));
        assert.deepEqual(pendingFiles(dir), []);
        await checkServers(servers.map((s) => s.address), expected);
        assert.match(run.stderr, /^\[\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d\] I /m);
        assert.match(run.stderr, /succeeded; lines=\d+ loaded=\d+ rejected=\d+/);
      });
    });
  });
}

// Chunk and frame buffers are pooled and reused (pipeline/buffer-pool.ts): with 4 KiB batches
// each buffer is reused hundreds of times, so one given back too early would leave wrong bytes.
// auto forced mid-file: buffers from the inline encoder's pools then reach the threads' and back.
for (const workers of ['0', '2', 'auto']) {
  test(`--workers ${workers} --batch-bytes 4096: with every buffer reused many times, every key still holds its last line`, async () => {
    await withServers(4, async (servers) => {
      const dir = scratch.copy(`small-batches-w${workers}`);
      const files = pendingFiles(dir);
      const expected = expectFrom(files);
      const args = ['--pattern', join(dir, '*.tsv.gz'), '--workers', workers, '--batch-bytes', '4096', ...serverArgs(servers.map((s) => s.address.label))];
      const run = await runCli(args, workers === 'auto' ? { env: forcedEnv('40:2') } : {});
      assert.equal(run.code, 0, run.stderr);
      if (workers === 'auto') assert.match(run.stderr, FORCED);
      assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));
      await checkServers(servers.map((s) => s.address), expected);
    });
  });
}

test('a file over the error threshold: exit 1, its good records loaded, still marked done', async () => {
  await withServers(4, async (servers) => {
    const dir = join(root, 'threshold');
    await generateLogs({ dir, files: 1, lines: 1000, seed: 11, badRate: 0.05, start: '20170929000000' });
    await generateLogs({ dir, files: 1, lines: 1000, seed: 12, start: '20170929000100' });
    const files = pendingFiles(dir);
    const expected = expectFrom(files);
    const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(servers.map((s) => s.address.label))]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /20170929000000\.tsv\.gz: FAILED \(error rate\)/);
    assert.match(run.stderr, /20170929000100\.tsv\.gz: succeeded/);
    assert.deepEqual(doneFiles(dir), ['.20170929000000.tsv.gz', '.20170929000100.tsv.gz']);
    await checkServers(servers.map((s) => s.address), expected);
  });
});

test('a corrupt gzip: exit 1, it and every later file stay unrenamed; a rerun once fixed completes', async () => {
  await withServers(4, async (servers) => {
    const dir = scratch.copy('corrupt');
    const files = pendingFiles(dir);
    const expected = expectFrom(files);
    const middle = files[1] as string;
    const good = readFileSync(middle);
    writeFileSync(middle, good.subarray(0, Math.floor(good.length / 2)));
    const args = ['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(servers.map((s) => s.address.label))];
    const first = await runCli(args);
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, new RegExp(`${escapeRegExp(basename(middle))}.*(gzip|end of file)`));
    assert.deepEqual(doneFiles(dir), [`.${basename(files[0] as string)}`]);
    assert.ok(existsSync(middle) && existsSync(files[2] as string), 'the broken file and the one after it wait for the next run');

    writeFileSync(middle, good);
    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(pendingFiles(dir), []);
    await checkServers(servers.map((s) => s.address), expected);
  });
});

test('--dry prints every record and leaves servers and files untouched', async () => {
  await withServers(4, async (servers) => {
    const dir = scratch.copy('dry');
    const files = pendingFiles(dir);
    const expected = expectFrom(files);
    const labels = servers.map((s) => s.address.label);
    const report = `${dir}.report.json`;
    const run = await runCli(['--dry', '--report', report, '--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels)]);
    assert.equal(run.code, 0, run.stderr);
    // No fast path runs under --dry: the report names no encoder (and still the inflater).
    const named = (JSON.parse(readFileSync(report, 'utf8')) as { files: { encoder: string | null; inflater: string | null }[] }).files;
    assert.deepEqual(named.map((f) => f.encoder), files.map(() => null));
    assert.ok(named.every((f) => f.inflater !== null));
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, expected.records.length);
    for (const [i, line] of lines.entries()) {
      const r = expected.records[i]!;
      const [server, key, json] = line.split('\t');
      assert.equal(server, labels[TYPES.indexOf(r.type as (typeof TYPES)[number])]);
      assert.equal(key, r.key);
      assert.deepEqual(JSON.parse(json as string), { apps: r.apps, lat: r.lat, lon: r.lon });
    }
    assert.deepEqual(pendingFiles(dir), files);
    for (const s of servers) assert.equal((await stats(s.address))['curr_items'], '0');
  });
});

test('the golden lines load byte-identical to Google protobuf output', async () => {
  await withServers(4, async (servers) => {
    const dir = join(root, 'golden');
    cpSync(join(repoRoot(), 'test/fixtures'), dir, { recursive: true });
    const golden = readFileSync(join(dir, 'head100.golden.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(servers.map((s) => s.address.label))]);
    assert.equal(run.code, 0, run.stderr);
    const want = new Map<string, string>();
    for (const row of golden) {
      const [, , key, hex] = row.split('\t') as [string, string, string, string];
      want.set(key, hex); // later lines win, as in the loader
    }
    assert.equal(golden.length, 200);
    for (const [i, type] of TYPES.entries()) {
      const keys = [...want.keys()].filter((k) => k.startsWith(`${type}:`));
      const got = await getMany((servers[i] as MemcachedHandle).address, keys);
      for (const k of keys) assert.equal(got.get(k)?.toString('hex'), want.get(k), k);
    }
    // The decoder the tests use agrees with the golden bytes too.
    const first = golden[0]!.split('\t')[3] as string;
    assert.ok(decode(Buffer.from(first, 'hex')).apps.length >= 2);
  });
});
