/**
 * The lag gauges of a real `memc-load --watch` move as files arrive and load (issue #20, item 3):
 * a file held back (copied in half) shows as the oldest pending one with its age; once loaded,
 * nothing is pending and the newest done file is that one. Real memcached, the real bin. It waits
 * out watch mode's settle time (seconds), which tests folders and clocks, not Node: it runs with
 * the fault suites, on one Node major in CI, to keep the three runs within their budget.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { faultSuitesOff } from '../../helpers/fault-suites.js';
import { freePort, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-lag-');
const skip = faultSuitesOff();
let servers: MemcachedHandle[];

before(async () => {
  if (!skip) servers = await startServers(4);
});
after(async () => {
  await stopAllCli();
  await stopAll();
  scratch.remove();
});

/** The value of a series in a scrape, by its name and `pattern` label; NaN when absent. */
function gauge(body: string, name: string): number {
  const m = new RegExp(`^${name}\\{pattern="[^"]*"\\} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
}

/** `YYYYMMDDhhmmss`, UTC, `secondsAgo` before now, on a whole minute. */
function minuteAgo(secondsAgo: number): string {
  const d = new Date(Math.floor((Date.now() - secondsAgo * 1000) / 60_000) * 60_000);
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

test('--watch --metrics-port: the oldest pending age shows a held-back file, then drops to 0 as the newest done age takes it up', { skip }, async () => {
  const dir = join(scratch.root, 'watch');
  const older = minuteAgo(600);
  const newer = minuteAgo(180);
  await generateLogs({ dir, files: 1, lines: 500, seed: 5, start: `${older.slice(0, 4)}-${older.slice(4, 6)}-${older.slice(6, 8)} ${older.slice(8, 10)}:${older.slice(10, 12)}:00` });
  const staged = join(scratch.root, 'staged');
  await generateLogs({ dir: staged, files: 1, lines: 500, seed: 6, start: `${newer.slice(0, 4)}-${newer.slice(4, 6)}-${newer.slice(6, 8)} ${newer.slice(8, 10)}:${newer.slice(10, 12)}:00` });
  const port = await freePort();
  const report = join(scratch.root, 'report.json');
  const run = startCli(['--watch', '--watch-interval', '200', '--metrics-port', String(port), '--report', report, '--pattern', join(dir, '*.tsv.gz'), ...serverArgs(servers.map((s) => s.address.label))]);
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const until = async (what: string, cond: () => boolean | Promise<boolean>) => {
    const end = Date.now() + 15_000;
    while (!(await Promise.resolve().then(cond).catch(() => false))) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${run.stderr()}`);
      await sleep(100);
    }
  };
  await until('the first file done', () => readdirSync(dir).includes(`.${older}.tsv.gz`));
  let body = '';
  await until('no file pending', async () => gauge((body = await scrape()), 'memc_load_oldest_pending_file_age_seconds') === 0);
  const doneAge = gauge(body, 'memc_load_newest_done_file_age_seconds');
  assert.ok(doneAge >= 600 && doneAge < 720, `newest done age ${doneAge} s: the older file's minute`);
  assert.equal(gauge(body, 'memc_load_pending_files'), 0);

  // Half a gzip file: pending, and held back until whole, so its age shows.
  const bytes = readFileSync(join(staged, `${newer}.tsv.gz`));
  const half = join(dir, `${newer}.tsv.gz`);
  writeFileSync(half, bytes.subarray(0, bytes.length >> 1));
  await until('the half-copied file counted pending', async () => gauge((body = await scrape()), 'memc_load_pending_files') === 1);
  const pendingAge = gauge(body, 'memc_load_oldest_pending_file_age_seconds');
  assert.ok(pendingAge >= 180 && pendingAge < 300, `oldest pending age ${pendingAge} s: the new file's minute`);
  assert.ok(readdirSync(dir).includes(`${newer}.tsv.gz`), 'still pending while the gauge says so');

  await appendFile(half, bytes.subarray(bytes.length >> 1));
  await until('the new file done', () => readdirSync(dir).includes(`.${newer}.tsv.gz`));
  await until('the gauges moved', async () => {
    body = await scrape();
    return gauge(body, 'memc_load_oldest_pending_file_age_seconds') === 0 && gauge(body, 'memc_load_newest_done_file_age_seconds') < 300;
  });
  assert.ok(gauge(body, 'memc_load_newest_done_file_age_seconds') >= 180);

  run.child.kill('SIGTERM');
  const end = await run.done;
  assert.equal(end.code, 0, end.stderr);
  const json = JSON.parse(readFileSync(report, 'utf8')) as { lag: { pending: number; oldestPending: unknown; newestDone: { file: string; ageSeconds: number } } };
  assert.equal(json.lag.pending, 0);
  assert.equal(json.lag.oldestPending, null);
  assert.equal(json.lag.newestDone.file, join(dir, `.${newer}.tsv.gz`));
  assert.match(end.stderr, new RegExp(`Lag: nothing pending; newest done ${newer}\\.tsv\\.gz, \\dm( \\d+s)? old`));
});
