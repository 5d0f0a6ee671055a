/**
 * The cluster commands as a new user meets them (issue #20, items 1 and 6), real Redis, real
 * memcached, the real bin: `enqueue --wait` with no worker says so instead of waiting in silence;
 * `status` counts the live workers; a plan that fails ends `--wait` with each failed file and why;
 * the worker logs as the loader does (--log-format json, a failed job at error); a split whose
 * spool cannot be made fails its job, naming the path, and the worker stops on the first SIGTERM;
 * a worker logs a split's rejected lines as the loader does (capped by --log-rejected); and a Redis
 * restart is said, lost then back, by the worker and by enqueue --wait; a plan that Redis loses
 * while enqueue --wait waits on it ends the wait with exit 1, never as settled.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { generateLogs } from '../../../src/generate/index.js';
import { runCli, startCli } from '../../helpers/cli.js';
import { clusterSuite, startCluster } from '../../helpers/cluster.js';
import { escapeRegExp } from '../../helpers/scratch.js';

const { scratch, skip } = clusterSuite('memc-load-cluster-walk-', {
  data: (dataset) => generateLogs({ dir: dataset, files: 1, lines: 2000, seed: 20 }),
});

test('no worker is said, live workers are counted, a failed plan names each file and why, a spool that cannot be made fails the job and SIGTERM stops the worker', { skip, timeout: 120_000 }, async () => {
  const rig = await startCluster();
  const status = async () => (await runCli(['status', '--redis', rig.redis.url])).stdout;
  // Plan 1: a good minute, then a plain-text one.
  const dir = scratch.copy('plain');
  const text = join(dir, '20170929000100.tsv.gz');
  writeFileSync(text, 'idfa\tnot gzip at all\t1\t2\t3\n');
  const wait = startCli(['enqueue', '--redis', rig.redis.url, ...rig.serverArgs, '--pattern', join(dir, '*.tsv.gz'), '--wait', '--warn-idle', '1'], { timeoutMs: 90_000 });
  await wait.waitForStderr(/W no worker alive for 1 s: plan p1 waits; start one: memc-load worker --redis redis:\/\/127\.0\.0\.1:\d+/);
  assert.match(await status(), /^workers alive: 0 \(start one: memc-load worker --redis URL\)$/m);

  const worker = rig.startWorker(['--log-format', 'json']);
  const waited = await wait.done;
  assert.equal(waited.code, 1, waited.stderr);
  assert.match(waited.stderr, new RegExp(`E failed: ${escapeRegExp(text)}: .*not a gzip file`));
  assert.match(waited.stderr, /E plan p1 settled: 1 done, 1 failed/);
  assert.match(await status(), /^workers alive: 1$/m);
  const lines = worker.stderr().trimEnd().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
  assert.ok(lines.some((l) => l.level === 'error' && /job .* failed: .*not a gzip file/.test(l.msg)), `a failed job is an error:\n${worker.stderr()}`);

  worker.child.kill('SIGTERM');
  assert.equal((await worker.done).code, 0);

  // Plan 2, its worker started only once its spool is a link to /proc (made after enqueue checked
  // it), as a spool another host cannot make: Node's recursive mkdir span there for ever, the
  // job with it, and the worker's first SIGTERM waited on that job.
  const next = scratch.copy('proc');
  const spool = join(scratch.root, 'spool-proc');
  const planned = await rig.enqueue(['--pattern', join(next, '*.tsv.gz'), '--spool', spool]);
  assert.equal(planned.code, 0, planned.stderr);
  rmSync(spool, { recursive: true, force: true });
  symlinkSync('/proc', spool);
  const stuck = rig.startWorker();
  await stuck.waitForStderr(new RegExp(`E split job \\S+ failed: .*cannot make its spool folder ${escapeRegExp(spool)}/20170929000000\\.tsv\\.gz`), 30_000);
  stuck.child.kill('SIGTERM');
  const stopped = await stuck.done;
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /worker stopped: every job it held is finished or back in its queue/);
});

test('a worker logs a split file\'s rejected lines up to the plan\'s --log-rejected, then one line with how many more; its counts are exact', { skip, timeout: 120_000 }, async () => {
  const rig = await startCluster();
  const dir = join(scratch.root, 'many-bad');
  mkdirSync(dir, { recursive: true });
  const id = (n: number) => `${String(n).padStart(8, '0')}-aaaa-bbbb-cccc-dddddddddddd`;
  const lines: string[] = [];
  let fields = 0;
  for (let n = 1; n <= 600; n++) {
    if (n % 5 === 0) {
      lines.push('gaid\tonly three');
      fields++;
    } else lines.push(`${['idfa', 'gaid', 'adid', 'dvid'][n % 4]}\t${id(n)}\t1.5\t-2.5\t1,2,3`);
  }
  const file = join(dir, '20170929000000.tsv.gz');
  writeFileSync(file, gzipSync(`${lines.join('\n')}\n`));
  const worker = rig.startWorker();
  const r = await rig.enqueue(['--pattern', join(dir, '*.tsv.gz'), '--log-rejected', '4', '--max-error-rate', '1', '--batch-bytes', '4096', '--wait']);
  assert.equal(r.code, 0, r.stderr);
  await worker.waitForStderr(/20170929000000\.tsv\.gz: succeeded, renamed/);
  const log = worker.stderr();
  const samples = log.split('\n').filter((l) => new RegExp(`W ${escapeRegExp(file)}:\\d+: rejected \\(fields\\): `).test(l));
  assert.deepEqual(samples.map((l) => Number(/:(\d+): rejected/.exec(l)?.[1])), [5, 10, 15, 20], log);
  assert.match(log, new RegExp(`W ${escapeRegExp(file)}: ${fields - 4} more rejected line\\(s\\) not logged \\(${fields} in all: fields=${fields}\\); --log-rejected 4 logs the first 4 of each file`));
  assert.equal(log.match(/ not logged /g)?.length, 1, log);
  assert.match(log, new RegExp(`20170929000000\\.tsv\\.gz: succeeded, renamed \\(lines=600 records=${600 - fields} rejected=${fields}\\)`));
  worker.child.kill('SIGTERM');
  assert.equal((await worker.done).code, 0);
});

test('Redis stopped and started again on its port: the worker says it lost Redis (E), then "Redis reachable again" (I); enqueue --wait warns, says it is back, and still ends well', { skip, timeout: 120_000 }, async () => {
  const rig = await startCluster();
  const where = `127.0.0.1:${rig.redis.port}`;
  const worker = rig.startWorker();
  await worker.waitForStderr(/I memc-load worker \d+ started/);
  const before = rig.redis.pid;
  await rig.redis.restart(1500);
  assert.notEqual(rig.redis.pid, before, 'a new redis-server runs on the port');
  await worker.waitForStderr(new RegExp(`I Redis reachable again at ${escapeRegExp(where)}`), 30_000);
  const log = worker.stderr();
  const lost = log.search(/E \S+: .*ECONNREFUSED.*\(Redis unreachable; retrying/);
  assert.ok(lost >= 0, `the worker says it lost Redis:\n${log}`);
  assert.ok(lost < log.search(/I Redis reachable again/), 'lost, then back');
  worker.child.kill('SIGTERM');
  assert.equal((await worker.done).code, 0);

  // enqueue --wait with no worker: it waits through the outage, says so, and settles once one runs.
  const dir = scratch.copy('outage');
  const wait = startCli(['enqueue', '--redis', rig.redis.url, ...rig.serverArgs, '--pattern', join(dir, '*.tsv.gz'), '--wait', '--warn-idle', '3600'], { timeoutMs: 90_000 });
  await wait.waitForStderr(/I planned p\d+/);
  await rig.redis.restart(1500);
  await wait.waitForStderr(new RegExp(`I Redis reachable again at ${escapeRegExp(where)}`), 30_000);
  const waitLog = wait.stderr();
  assert.match(waitLog, new RegExp(`W lost Redis at ${escapeRegExp(where)}: enqueue --wait keeps waiting and reconnects by itself\n[^]*I Redis reachable again`));
  const second = rig.startWorker();
  const done = await wait.done;
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /I plan p\d+ settled: 1 done, 0 failed/);
  second.child.kill('SIGTERM');
  assert.equal((await second.done).code, 0);
});

test('a plan that Redis loses while enqueue --wait waits on it (flushed, or restarted without its data) ends the wait with exit 1 and says so; it was once "plan null settled", exit 0', { skip, timeout: 120_000 }, async () => {
  const rig = await startCluster();
  const dir = scratch.copy('gone');
  const files = readdirSync(dir).filter((n) => n.endsWith('.tsv.gz'));
  assert.ok(files.length > 0, 'the folder has files to plan');
  // No worker: the plan stays in flight, so only its loss can end the wait.
  const wait = startCli(['enqueue', '--redis', rig.redis.url, ...rig.serverArgs, '--pattern', join(dir, '*.tsv.gz'), '--wait', '--warn-idle', '3600'], { timeoutMs: 90_000 });
  await wait.waitForStderr(/I planned p1: /);
  const redis = new Redis(rig.redis.url, { maxRetriesPerRequest: null });
  try {
    assert.equal(await redis.flushall(), 'OK');
    assert.equal(await redis.dbsize(), 0, 'the fault was made: Redis holds nothing');
  } finally {
    redis.disconnect();
  }
  const done = await wait.done;
  assert.equal(done.code, 1, done.stderr);
  const where = escapeRegExp(`127.0.0.1:${rig.redis.port}`);
  assert.match(done.stderr, new RegExp(`E plan p1 is gone: Redis at ${where} holds no plan \\(restarted without its data, or flushed\\?\\); ${files.length} of its ${files.length} file\\(s\\) are not marked done \\(first: ${escapeRegExp(join(dir, files[0] as string))}\\)\\. Run memc-load enqueue again`));
  assert.doesNotMatch(done.stderr, /settled/);
  for (const f of files) assert.ok(existsSync(join(dir, f)), `${f} is still pending`);
});
