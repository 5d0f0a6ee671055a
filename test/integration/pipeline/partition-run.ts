/**
 * The network-partition trial, run by partition.test.ts inside a network namespace of its own
 * (`unshare -n`), where blackholing loopback with tc touches nothing else on the machine:
 *
 *   node partition-run.js <iterations>     → one JSON line per iteration on stdout
 *
 * Each iteration: four memcached, four files whose keys each appear twice 400 lines apart, the
 * loader started with a short --timeout; once it is loading, the servers stall for 0.3 s, then
 * every packet on lo is dropped (`tc qdisc add dev lo root pfifo limit 0`) for 1.4–2.0 s, then the
 * link heals. The fault is proven before anything is judged: the loader was writing to every
 * server and had not started its last file when the servers stalled, and a new connection timed out while lo was dark; a set-up that
 * came too late (a loaded machine) is made again, and the record says so. The loader must
 * never exit 0 with an older value in memcached: it either completes with every value right, or
 * fails the files, which a rerun (healed) then completes.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stats } from '../../../src/memcached/admin.js';
import { compareValues, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli, type RunningCli } from '../../helpers/cli.js';
import { startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, TYPES, type Expected } from '../../helpers/oracle.js';
import { processState, stopProcess } from '../../helpers/proc.js';
import { writeRepeatKeysFile } from '../../helpers/repeat-keys.js';

/** Enough that the load is still going when the link goes dark, ~0.4 s after the first file starts. */
const FILES = 4;
const LINES_PER_FILE = 60_000;

const tc = (...args: string[]) => execFileSync('tc', args, { stdio: 'pipe' });

/** Keys whose stored value is not the oracle's (older, or missing). */
async function wrongKeys(servers: readonly MemcachedHandle[], expected: Expected): Promise<number> {
  let n = 0;
  for (const [i, type] of TYPES.entries()) {
    const { missing, wrong } = await compareValues((servers[i] as MemcachedHandle).address, expected.byType[type] as Map<string, Buffer>);
    n += missing + wrong;
  }
  return n;
}

/**
 * A socket closed gracefully (FIN) keeps retransmitting what the server has not acknowledged,
 * with backoff, seconds after the loader has exited: wait until no such socket is left in this
 * namespace, so that whatever it delivers has landed before the values are read.
 */
async function untilAbandonedSocketsDrain(): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    const lingering = execFileSync('ss', ['-tnH', 'state', 'fin-wait-1', 'state', 'last-ack', 'state', 'closing']).toString().trim();
    if (lingering === '') return;
    await sleep(100);
  }
}

/** The same files in every iteration (each loads a copy): made and folded by the oracle once. */
const dataset = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'memc-partition-data-'));
  for (let i = 0; i < FILES; i++) writeRepeatKeysFile(dir, `201709290${i}0000.tsv.gz`, i, LINES_PER_FILE);
  return { dir, expected: expectFrom(pendingFiles(dir)) };
})();

/** How many times an iteration sets its fault up before it reports that it could not. */
const SETUP_ATTEMPTS = 4;

/**
 * One iteration: the fault is set up until it is made (at most SETUP_ATTEMPTS times). `made`
 * says whether the partition happened while the loader still had records to write; `saw`
 * whether the loader noticed it (its log). The two were one field, read from the loader's log,
 * so a set-up that came too late on a loaded machine was reported as the loader's failure.
 */
async function iteration(n: number): Promise<Record<string, unknown>> {
  const misses: string[] = [];
  for (let attempt = 1; attempt <= SETUP_ATTEMPTS; attempt++) {
    const result = await attemptPartition(n);
    if (typeof result !== 'string') return { ...result, attempts: attempt, misses };
    misses.push(result);
  }
  return { n, made: false, attempts: SETUP_ATTEMPTS, misses };
}

/** The run's record, or why the partition could not be made in time (then nothing is judged). */
async function attemptPartition(n: number): Promise<Record<string, unknown> | string> {
  const dir = mkdtempSync(join(tmpdir(), 'memc-partition-'));
  const servers = await startServers(4);
  try {
    cpSync(dataset.dir, dir, { recursive: true });
    const files = pendingFiles(dir);
    const expected = dataset.expected;
    const args = [
      '--pattern',
      join(dir, '*.tsv.gz'),
      '--workers',
      '1',
      '--batch-bytes',
      '65536',
      '--timeout',
      '1000',
      '--connect-timeout',
      '500',
      ...serverArgs(servers.map((s) => s.address.label)),
    ];
    const cli = startCli(args, { timeoutMs: 60_000 });
    await cli.waitForStderr(/Processing \S*20170929000000/);
    // "Processing" comes before the connections are up; on a loaded machine a partition right
    // after it meets a loader still connecting ("could not connect"), with nothing in flight.
    if (!(await untilEveryServerHolds(servers))) {
      await cli.done;
      return 'the loader had not written to every server within 20 s';
    }
    await sleep(20 + Math.floor(Math.random() * 100));
    // The fault must land while the loader still has records to write, whatever the load on the
    // machine made of the timers above: the loader is frozen while that is checked (it reads
    // the files in order, so a last file not yet announced is a whole file not yet written),
    // and the servers stall before it runs again.
    const late = await stillBeforeLastFile(cli, files.at(-1) as string);
    if (late !== null) {
      await cli.done;
      return late;
    }
    // The servers stall first, as a busy server does: their sockets' windows fill, and the
    // loader's kernel holds sets it could not send yet when the link goes dark. After the heal
    // its next probe of the closed window delivers them, possibly after the reconnect's resend.
    for (const s of servers) s.pause();
    cli.child.kill('SIGCONT');
    await sleep(300);
    tc('qdisc', 'add', 'dev', 'lo', 'root', 'pfifo', 'limit', '0');
    for (const s of servers) s.resume();
    // --timeout drops the sockets after 1 s; the link heals around the second reconnect attempt.
    const heal = 1400 + Math.floor(Math.random() * 600);
    const [blocked] = await Promise.all([connectTimesOut(servers[0] as MemcachedHandle, 300), sleep(heal)]);
    tc('qdisc', 'del', 'dev', 'lo', 'root');
    const run = await cli.done;
    if (!blocked) return 'a connection got through the blackholed loopback';
    await untilAbandonedSocketsDrain();
    const saw = /Lost connection/.test(run.stderr);
    const renamed = doneFiles(dir).length;
    const wrong = await wrongKeys(servers, expected);
    const result: Record<string, unknown> = { n, heal, made: true, saw, code: run.code, renamed, wrong, files: FILES };
    if (run.code !== 0) {
      // A failed run must leave its files pending; a rerun on the healed link completes them.
      const rerun = await runCli(args);
      result['rerunCode'] = rerun.code;
      result['rerunWrong'] = await wrongKeys(servers, expected);
      result['rerunRenamed'] = doneFiles(dir).length;
    }
    if ((run.code === 0 && wrong > 0) || !saw || process.env['MEMC_PARTITION_DEBUG']) result['stderr'] = run.stderr.slice(-6000);
    return result;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Until every server holds an item of this run (bounded): the loader is connected and writing. */
async function untilEveryServerHolds(servers: readonly MemcachedHandle[]): Promise<boolean> {
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    const items = await Promise.all(servers.map(async (s) => Number((await stats(s.address, 2000))['curr_items'])));
    if (items.every((n) => n > 0)) return true;
    await sleep(5);
  }
  return false;
}

/**
 * SIGSTOPs the loader and reads all it logged: null when it has not started `last` (it stays
 * stopped, for the caller to resume), else why the partition would come too late (resumed).
 */
async function stillBeforeLastFile(cli: RunningCli, last: string): Promise<string | null> {
  const pid = cli.child.pid as number;
  await stopProcess(pid);
  // Whatever it wrote before it stopped is in the pipe: a timer and then the poll phase that
  // follows it, a few times over, read it all.
  for (let i = 0; i < 3; i++) {
    await sleep(30);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const state = processState(pid);
  const why =
    state === null
      ? 'the loader had exited before the partition'
      : state !== 'T'
        ? `the loader did not stop on SIGSTOP (state ${state})`
        : cli.stderr().includes(`Processing ${last}`)
          ? 'the loader had reached the last file before the partition'
          : null;
  if (why !== null) cli.child.kill('SIGCONT');
  return why;
}

/** Whether a new connection to the server times out: the proof that loopback is dark. */
function connectTimesOut(server: MemcachedHandle, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: server.address.host, port: server.port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(true);
    }, ms);
    const through = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(false);
    };
    sock.once('connect', through);
    sock.once('error', through);
  });
}

const iterations = Number(process.argv[2] ?? 1);
execFileSync('ip', ['link', 'set', 'lo', 'up']);
try {
  for (let n = 0; n < iterations; n++) process.stdout.write(`${JSON.stringify(await iteration(n))}\n`);
} finally {
  try {
    tc('qdisc', 'del', 'dev', 'lo', 'root');
  } catch {
    // not blackholed
  }
  await stopAllCli();
  await stopAll();
  rmSync(dataset.dir, { recursive: true, force: true });
}
