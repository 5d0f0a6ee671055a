/**
 * Server faults mid-run, with real processes through the real bin (issue #4): a dropped and
 * refused connection, a 2-second freeze, a server that never starts, a server that freezes for
 * good, a gzip file that breaks in the middle. Each test checks the exit status, the renames and
 * every stored value against the oracle.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { generateLogs } from '../../../src/generate/index.js';
import { ERROR_CODES, WorkerError } from '../../../src/errors.js';
import { load, resolveOptions } from '../../../src/index.js';
import { stats } from '../../../src/memcached/admin.js';
import { CONNECTION_DEFAULTS } from '../../../src/memcached/connection-options.js';
import { Loader } from '../../../src/pipeline/loader.js';
import type { FileReport } from '../../../src/report/file-report.js';
import { checkServers, doneFiles, readValues } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { isalReady } from '../../helpers/isal.js';
import { refusedAddress, startServers, stopAll } from '../../helpers/memcached.js';
import { encode, expectFrom, pendingFiles, TYPES, type Expected } from '../../helpers/oracle.js';
import { escapeRegExp } from '../../helpers/scratch.js';
import { stallProbe } from '../../helpers/stall-probe.js';
import { TcpForwarder } from '../../helpers/tcp-forwarder.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-faults-'));
let dataset: string;
let small: string;
/** What the dataset's files must leave in memcached (every copy of it is the same). */
let datasetExpected: Expected;
let smallExpected: Expected;
const forwarders: TcpForwarder[] = [];

before(async () => {
  dataset = join(root, 'dataset');
  small = join(root, 'small');
  // Big enough that the run is still writing when file 2 starts; keys repeat across files.
  await generateLogs({ dir: dataset, files: 3, lines: 20_000, seed: 41, repeatRate: 0.3, badRate: 0.002, crlf: true });
  await generateLogs({ dir: small, files: 3, lines: 3000, seed: 42, repeatRate: 0.3, badRate: 0.002 });
  datasetExpected = expectFrom(pendingFiles(dataset));
  smallExpected = expectFrom(pendingFiles(small));
});
after(async () => {
  await stopAllCli();
  await Promise.all(forwarders.map((f) => f.stop()));
  await stopAll();
  rmSync(root, { recursive: true, force: true });
});

function copy(from: string, name: string): string {
  const dir = join(root, name);
  cpSync(from, dir, { recursive: true });
  return dir;
}

const labels = (servers: readonly { address: { label: string } }[]) => servers.map((s) => s.address.label);
/** The library's `servers` option for four started servers, in idfa, gaid, adid, dvid order. */
const serversOption = (servers: readonly { address: { label: string } }[]) => {
  const [idfa, gaid, adid, dvid] = labels(servers) as [string, string, string, string];
  return { idfa, gaid, adid, dvid };
};
/** The log line of a file's verdict. */
const verdictLine = (stderr: string, file: string) => stderr.split('\n').find((l) => l.includes(`${basename(file)}: `) && / lines=\d+/.test(l)) ?? '';

test('a connection cut mid-run, then refused for half a second: exit 0, every value correct', async () => {
  const servers = await startServers(4);
  const dir = copy(dataset, 'forwarder');
  const files = pendingFiles(dir);
  const expected = datasetExpected;
  const fw = new TcpForwarder(servers[1]!.address);
  forwarders.push(fw);
  await fw.start();
  // gaid's share of the data is ~4 MB on the wire: cut at 1 MB, refuse connects from 2.5 MB.
  let cut = false;
  let stopped = false;
  fw.onUpstream = (bytes) => {
    if (!cut && bytes > 1_000_000) {
      cut = true;
      fw.cutAll();
    } else if (cut && !stopped && bytes > 2_500_000) {
      stopped = true;
      void fw.stop().then(() => setTimeout(() => void fw.start(), 500));
    }
  };
  const via = [labels(servers)[0]!, fw.address.label, labels(servers)[2]!, labels(servers)[3]!];
  const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), ...serverArgs(via)]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(cut && stopped, `both faults happened (forwarded ${fw.counters.bytesUp} bytes)`);
  assert.ok(fw.counters.cut >= 1 && fw.counters.accepted >= 3, JSON.stringify(fw.counters));
  assert.match(run.stderr, new RegExp(`W Lost connection to ${escapeRegExp(fw.address.label)} \\(.*\\); reconnecting`));
  assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));
  await checkServers(servers.map((s) => s.address), expected);
});

test('a server frozen (SIGSTOP) for 2 s mid-run: no reconnect, exit 0, every value correct', async () => {
  const servers = await startServers(4);
  const dir = copy(dataset, 'freeze2s');
  const files = pendingFiles(dir);
  const expected = datasetExpected;
  // A small buffer keeps the reader close to the acks, so writes are waiting during the freeze.
  const cli = startCli(['--pattern', join(dir, '*.tsv.gz'), '--max-buffered-bytes', '65536', ...serverArgs(labels(servers))]);
  await cli.waitForStderr(new RegExp(`Processing \\S*${escapeRegExp(basename(files[1]!))}`));
  const frozenAt = performance.now();
  servers[2]!.pause();
  setTimeout(() => servers[2]!.resume(), 2000);
  const run = await cli.done;
  assert.equal(run.code, 0, run.stderr);
  assert.ok(performance.now() - frozenAt >= 1900, 'the run was still going when the server froze');
  assert.doesNotMatch(run.stderr, /Lost connection/);
  assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));
  await checkServers(servers.map((s) => s.address), expected);
});

describe('a server gone for good', { concurrency: true }, () => {
  test('never started: bounded time with defaults, its records failed, nothing renamed; a rerun with it up completes', async (t) => {
    const servers = await startServers(4);
    // dvid points at 127.0.0.2, where nothing listens. Not at a stopped server's 127.0.0.1 port:
    // a memcached started by a test running alongside could take that port while this one waits.
    const dvid = (await refusedAddress()).label;
    const dir = copy(small, 'never');
    const files = pendingFiles(dir);
    const expected = smallExpected;
    const pattern = ['--pattern', join(dir, '*.tsv.gz')];

    const first = await startCli([...pattern, ...serverArgs([...labels(servers).slice(0, 3), dvid])]).done;
    assert.equal(first.code, 1, first.stderr);
    assert.ok(first.ms < 30_000, `gave up in ${first.ms} ms`);
    t.diagnostic(`the run with dvid never started ended after ${Math.round(first.ms)} ms`);
    // Never reached, so it is said to be unreachable (issue #12), not "gave up … connect ECONNREFUSED".
    assert.match(
      first.stderr,
      new RegExp(`E could not connect to memcached ${escapeRegExp(dvid)} after \\d+ attempt\\(s\\) over [\\d.]+ s \\(ECONNREFUSED\\): is memcached running there\\? Check --dvid`),
    );
    assert.deepEqual(doneFiles(dir), [], 'every file lost writes: none is renamed');
    for (const file of files) {
      const dvidRecords = expectFrom([file]).records.filter((r) => r.type === 'dvid').length;
      const line = verdictLine(first.stderr, file);
      assert.match(line, /FAILED \(not fully loaded\)/);
      assert.match(line, new RegExp(`failed_writes=${dvidRecords} \\(${escapeRegExp(dvid)}=${dvidRecords}\\)`), line);
    }
    await checkServers(servers.map((s) => s.address), expected, { types: ['idfa', 'gaid', 'adid'] });

    // The rerun with dvid's server up: its records arrive, and every file is renamed.
    const second = await runCli([...pattern, ...serverArgs(labels(servers))]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(doneFiles(dir), files.map((f) => `.${basename(f)}`));
    await checkServers(servers.map((s) => s.address), expected);
  });

  test('frozen for good mid-run: bounded time with defaults, exit 1, renames stop at the first file that lost writes or could not be confirmed', async (t) => {
    const servers = await startServers(4);
    const dir = copy(dataset, 'frozen');
    const files = pendingFiles(dir);
    const expected = datasetExpected;
    const gaid = servers[1]!.address.label;
    const args = ['--pattern', join(dir, '*.tsv.gz'), '--max-buffered-bytes', '65536', ...serverArgs(labels(servers))];
    const cli = startCli(args);
    await cli.waitForStderr(new RegExp(`Processing \\S*${escapeRegExp(basename(files[1]!))}`));
    const stalled = stallProbe();
    servers[1]!.pause();
    const pausedAt = performance.now();
    const gaveUp = cli.waitForStderr(new RegExp(`E gave up on memcached ${escapeRegExp(gaid)}`), 300_000).then(() => performance.now());
    gaveUp.catch(() => undefined); // judged below, once the run is over
    const run = await cli.done;
    const gaveUpAfter = (await gaveUp) - pausedAt;
    const late = stalled();
    assert.equal(run.code, 1, run.stderr);
    // The bound comes from the connection's defaults: the outage is given up at the first failure
    // past giveUpAfterMs from the last sign of life (at the freeze at the latest), and that attempt
    // costs at most a backoff, a connect and a response timeout. Each of those timers, and the
    // ones before, may come late by as much as this machine's scheduler made this process wait
    // (measured; the loader gives a stall of its own back before judging a timeout), 8 timers in all.
    const d = CONNECTION_DEFAULTS;
    const bound = d.giveUpAfterMs + d.retryMaxDelayMs + d.connectTimeoutMs + d.responseTimeoutMs + 8 * late;
    assert.ok(gaveUpAfter <= bound, `gave up ${Math.round(gaveUpAfter)} ms after the freeze, bound ${Math.round(bound)} ms (worst stall ${Math.round(late)} ms)`);
    t.diagnostic(`gave up ${Math.round(gaveUpAfter)} ms after the freeze (bound ${Math.round(bound)} ms, worst stall ${Math.round(late)} ms); the run ended after ${Math.round(run.ms)} ms`);
    assert.match(run.stderr, new RegExp(`W Lost connection to ${escapeRegExp(gaid)} \\(no reply from ${escapeRegExp(gaid)} for 5000 ms with \\d+ batch\\(es\\) in flight\\)`));
    assert.match(run.stderr, new RegExp(`E gave up on memcached ${escapeRegExp(gaid)} after \\d+ failed attempt\\(s\\)`));
    const done = doneFiles(dir);
    const renamed = files.filter((f) => done.includes(`.${basename(f)}`));
    assert.deepEqual(renamed, files.slice(0, renamed.length), 'renamed files are a prefix');
    assert.ok(renamed.length < files.length);
    // The first file not renamed failed on the frozen server: its writes there were lost; or every
    // one of them was acknowledged before the freeze and the freeze met its settle, where the
    // server could not be read and counts as possibly restarted (issue #18 item 5); or it had
    // already been renamed when the server was given up, and was renamed back for the same reason.
    // Which one depends only on how far the loader had got at the freeze; each stops the renames
    // there and names the frozen server.
    const firstName = basename(files[renamed.length]!);
    const renamedBack = run.stderr.split('\n').find((l) => l.includes(`${firstName}: renamed back: `));
    if (renamedBack !== undefined) {
      assert.match(renamedBack, new RegExp(`memcached ${escapeRegExp(gaid)} `), renamedBack);
    } else {
      const firstFailed = verdictLine(run.stderr, files[renamed.length]!);
      assert.match(firstFailed, /FAILED \(not fully loaded\)/);
      assert.match(
        firstFailed,
        new RegExp(`failed_writes=\\d+ \\(${escapeRegExp(gaid)}=\\d+\\)|memcached ${escapeRegExp(gaid)} could not be read while \\S+ settled`),
        firstFailed,
      );
    }
    await checkServers(servers.map((s) => s.address), expected, { types: ['idfa', 'adid', 'dvid'] });

    // Thawed: the renamed files' records for the frozen server are all there (or a later value).
    servers[1]!.resume();
    const renamedPaths = renamed.map((f) => join(dir, `.${basename(f)}`));
    const prefix = expectFrom(renamedPaths).byType['gaid']!;
    const later = new Map<string, Set<string>>();
    for (const r of expectFrom(pendingFiles(dir)).records) {
      if (r.type === 'gaid') later.set(r.key, (later.get(r.key) ?? new Set()).add(encode(r).toString('hex')));
    }
    const keys = [...prefix.keys()];
    const got = await readValues(servers[1]!.address, keys);
    for (const [i, key] of keys.entries()) {
      const hex = got[i]?.toString('hex');
      assert.ok(hex === prefix.get(key)!.toString('hex') || (hex !== undefined && later.get(key)?.has(hex)), `${key} on ${gaid}`);
    }

    const rerun = await runCli(args.filter((a, i) => a !== '--max-buffered-bytes' && args[i - 1] !== '--max-buffered-bytes'));
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(pendingFiles(dir), []);
    await checkServers(servers.map((s) => s.address), expected);
  });
});

// Every inflater (ISA-L or zlib on the reading thread, zlib on libuv's pool) must fail alike.
for (const gunzip of ['isal', 'inline', 'pool'] as const) {
  const skip = gunzip === 'isal' && isalReady().skip;
  test(`a gzip file that breaks mid-way (--gunzip ${gunzip}): the error names the file and where; exactly the lines before the break are loaded`, { skip }, async () => {
    const servers = await startServers(4);
    const dir = copy(small, `truncated-${gunzip}`);
    const files = pendingFiles(dir);
    const expected = smallExpected;
    const middle = files[1]!;
    const good = readFileSync(middle);
    const cutAt = Math.floor(good.length * 0.6);
    writeFileSync(middle, good.subarray(0, cutAt));
    // What a decompressor can still get out of the truncated file: its whole lines are the ones
    // the loader must have loaded, and "after line N" must name the last of them.
    const partial = gunzipSync(good.subarray(0, cutAt), { finishFlush: constants.Z_SYNC_FLUSH });
    const wholeLines = partial.subarray(0, partial.lastIndexOf(0x0a) + 1);
    const lineCount = wholeLines.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
    const prefixFile = join(root, `truncated-prefix-${gunzip}.tsv.gz`);
    writeFileSync(prefixFile, gzipSync(wholeLines));

    const args = ['--pattern', join(dir, '*.tsv.gz'), '--gunzip', gunzip, ...serverArgs(labels(servers))];
    const first = await runCli(args);
    assert.equal(first.code, 1, first.stderr);
    const m = new RegExp(`E ${escapeRegExp(middle)}: gzip data broken at compressed byte (\\d+) \\(unexpected end of file\\), after line (\\d+)`).exec(first.stderr);
    assert.ok(m, first.stderr);
    assert.ok(Number(m[1]) <= cutAt && Number(m[1]) > cutAt / 2, `compressed offset ${m[1]} of ${cutAt}`);
    assert.equal(Number(m[2]), lineCount, 'the last whole line before the break');
    assert.match(verdictLine(first.stderr, middle), /FAILED \(not fully loaded\).* renamed=no/);
    assert.deepEqual(doneFiles(dir), [`.${basename(files[0]!)}`], 'the broken file and every later one stay pending');
    // The later file is still loaded (the other keys get their data), over the broken file's prefix.
    await checkServers(servers.map((s) => s.address), expectFrom([join(dir, `.${basename(files[0]!)}`), prefixFile, files[2]!]));

    writeFileSync(middle, good);
    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(pendingFiles(dir), []);
    await checkServers(servers.map((s) => s.address), expected);
  });
}

test('a file gone between listing and reading: it fails to load, named with the reason; the file before is renamed, the one after loaded and left pending', async () => {
  const servers = await startServers(4);
  const dir = copy(small, 'vanished');
  const files = pendingFiles(dir) as [string, string, string];
  const expected = expectFrom([files[0], files[2]]);
  rmSync(files[1]);
  // The library takes the list as given, as watch mode does: the list says the file is there.
  const logged: string[] = [];
  const logger = { log: (_level: string, message: string) => void logged.push(message) };
  const report = await load({ servers: serversOption(servers) }, { files, logger });
  assert.equal(report.ok, false);
  const [first, gone, last] = report.files as [FileReport, FileReport, FileReport];
  // Issue #12: the file held back says by which, in the report and in its log line.
  assert.deepEqual([first.heldBackBy, gone.heldBackBy, last.heldBackBy], [null, null, files[1]]);
  const verdict = logged.find((m) => m.startsWith(`${files[2]}: succeeded;`)) ?? '';
  assert.match(verdict, new RegExp(`renamed=no .*; held back by ${escapeRegExp(files[1])}, which failed to load: it will be reloaded after it$`));
  assert.deepEqual([first.outcome, first.renamed], ['succeeded', true]);
  assert.equal(gone.outcome, 'failed_load');
  assert.match(gone.error ?? '', new RegExp(`^${escapeRegExp(files[1])}: could not read the file \\(ENOENT`));
  assert.deepEqual([last.outcome, last.renamed, last.loaded], ['succeeded', false, last.records]);
  assert.deepEqual(doneFiles(dir), [`.${basename(files[0])}`]);
  assert.deepEqual(pendingFiles(dir), [files[2]]);
  await checkServers(servers.map((s) => s.address), expected);
});

test('a worker thread that dies: the run fails naming the thread and what it threw; nothing is renamed or stored', async () => {
  const servers = await startServers(4);
  const dir = copy(small, 'worker-dies');
  const files = pendingFiles(dir);
  // Options given to the Loader itself skip validation and reach the workers as they are: a
  // negative ttl makes each worker throw on its first chunk, as a bug in the encoder would.
  const opts = { ...resolveOptions({ servers: serversOption(servers), workers: 2 }), ttl: -1 };
  await assert.rejects(new Loader(opts, { files }).run(), (err: unknown) => {
    assert.ok(err instanceof WorkerError, String(err));
    assert.equal(err.code, ERROR_CODES.WORKER);
    assert.match(err.message, /^worker thread [01] failed: .*ttl must be a non-negative integer/);
    return true;
  });
  assert.deepEqual(doneFiles(dir), []);
  assert.deepEqual(pendingFiles(dir), files);
  for (const s of servers) assert.equal((await stats(s.address)).cmd_set, '0', s.address.label);
});

test('the datasets cover every device type and repeat keys across files', () => {
  for (const e of [smallExpected, datasetExpected]) {
    for (const t of TYPES) assert.ok((e.byType[t]?.size ?? 0) > 100, t);
    const distinct = TYPES.reduce((n, t) => n + (e.byType[t]?.size ?? 0), 0);
    assert.ok(e.records.length > distinct * 1.2, 'keys repeat');
  }
});
