/**
 * The network-partition trial, run by partition.test.ts inside a network namespace of its own
 * (`unshare -n`), where blackholing loopback with tc touches nothing else on the machine:
 *
 *   node partition-run.js <iterations>     → one JSON line per iteration on stdout
 *
 * Each iteration: four memcached, four files whose keys each appear twice 400 lines apart, the
 * loader started with a short --timeout; once it is loading, the servers stall for 0.3 s, then
 * every packet on lo is dropped (`tc qdisc add dev lo root pfifo limit 0`) for 1.4–2.0 s, then the
 * link heals. The loader must
 * never exit 0 with an older value in memcached: it either completes with every value right, or
 * fails the files, which a rerun (healed) then completes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { compareValues, doneFiles } from '../../helpers/check.js';
import { runCli, serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, TYPES, type Expected } from '../../helpers/oracle.js';
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

async function iteration(n: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'memc-partition-'));
  const servers = await startServers(4);
  try {
    for (let i = 0; i < FILES; i++) writeRepeatKeysFile(dir, `201709290${i}0000.tsv.gz`, i, LINES_PER_FILE);
    const files = pendingFiles(dir);
    const expected = expectFrom(files);
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
    await sleep(20 + Math.floor(Math.random() * 100));
    // The servers stall first, as a busy server does: their sockets' windows fill, and the
    // loader's kernel holds sets it could not send yet when the link goes dark. After the heal
    // its next probe of the closed window delivers them, possibly after the reconnect's resend.
    for (const s of servers) s.pause();
    await sleep(300);
    tc('qdisc', 'add', 'dev', 'lo', 'root', 'pfifo', 'limit', '0');
    for (const s of servers) s.resume();
    // --timeout drops the sockets after 1 s; the link heals around the second reconnect attempt.
    const heal = 1400 + Math.floor(Math.random() * 600);
    await sleep(heal);
    tc('qdisc', 'del', 'dev', 'lo', 'root');
    const run = await cli.done;
    await untilAbandonedSocketsDrain();
    const partitioned = /Lost connection/.test(run.stderr);
    const renamed = doneFiles(dir).length;
    const wrong = await wrongKeys(servers, expected);
    const result: Record<string, unknown> = { n, heal, code: run.code, partitioned, renamed, wrong, files: FILES };
    if (run.code !== 0) {
      // A failed run must leave its files pending; a rerun on the healed link completes them.
      const rerun = await runCli(args);
      result['rerunCode'] = rerun.code;
      result['rerunWrong'] = await wrongKeys(servers, expected);
      result['rerunRenamed'] = doneFiles(dir).length;
    }
    if ((run.code === 0 && wrong > 0) || process.env['MEMC_PARTITION_DEBUG']) result['stderr'] = run.stderr.slice(-6000);
    return result;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
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
}
