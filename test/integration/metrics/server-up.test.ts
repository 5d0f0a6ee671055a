/**
 * memc_load_server_up on an idle `memc-load --watch`: a memcached SIGKILLed between files shows
 * 0, and once it is restarted on the same port it shows 1 again without a new file, and /healthz
 * goes back to 200 (the watch probes a lost server on its scan interval, Router.probeDown). Before,
 * it stayed 0 until the next file reconnected it, and MemcachedServerDown kept firing for a
 * server that was back. Real memcached, the real bin, /metrics read back.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { serverArgs, startCli, stopAllCli } from '../../helpers/cli.js';
import { freePort, ownLoopback, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { processState } from '../../helpers/proc.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-server-up-');
let servers: MemcachedHandle[];

before(async () => {
  servers = await startServers(4, { host: ownLoopback() }); // the victim's port is free while it is down
});
after(async () => {
  await stopAllCli();
  await stopAll();
  scratch.remove();
});

/** memc_load_server_up of `server` in a scrape; NaN when the series is absent. */
function serverUp(body: string, server: string): number {
  const m = new RegExp(`^memc_load_server_up\\{server="${server.replace(/[.[\]]/g, '\\$&')}"\\} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
}

test('--watch, idle: a memcached SIGKILLed shows server_up 0, and 1 again once restarted on its port, with no new file', async () => {
  const dir = join(scratch.root, 'logs');
  await generateLogs({ dir, files: 1, lines: 300, seed: 11 });
  const port = await freePort();
  const run = startCli(['--watch', '--watch-interval', '100', '--metrics-port', String(port), '--pattern', join(dir, '*.tsv.gz'), ...serverArgs(servers.map((s) => s.address.label))]);
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const health = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
  let body = '';
  const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 15_000) => {
    const end = Date.now() + ms;
    while (!(await Promise.resolve().then(cond).catch(() => false))) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n--- last scrape:\n${body}\n--- stderr:\n${run.stderr()}`);
      await sleep(100);
    }
  };
  // The file loaded: the loader has a connection to every server, and nothing is left to send.
  const [file] = readdirSync(dir);
  await until('the file done', () => readdirSync(dir).includes(`.${file}`));
  const victim = servers[2]!;
  await until('every server up', async () => {
    body = await scrape();
    return servers.every((s) => serverUp(body, s.address.label) === 1);
  });

  // The fault, made and seen made: the process is gone and the loader has noticed.
  const oldPid = victim.pid;
  await victim.kill();
  assert.equal(processState(oldPid), null, 'the memcached process is gone');
  await until('the victim down', async () => serverUp((body = await scrape()), victim.address.label) === 0);
  assert.ok(servers.filter((s) => s !== victim).every((s) => serverUp(body, s.address.label) === 1), 'only the victim is down');

  // Back on the same port, empty. No file arrives: only the idle watch can notice.
  await victim.restart();
  assert.notEqual(victim.pid, oldPid, 'a new process');
  await until('the victim up again', async () => serverUp((body = await scrape()), victim.address.label) === 1, 10_000);
  await until('/healthz 200', async () => (await health()) === 200, 5_000);
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('.')), [], 'no file was there to reconnect it');

  run.child.kill('SIGTERM');
  const end = await run.done;
  assert.equal(end.code, 0, end.stderr);
  // The refused probes while it was down said nothing: one line for the loss, not one per scan.
  const lost = end.stderr.split('\n').filter((l) => l.includes(`Lost connection to ${victim.address.label}`));
  assert.equal(lost.length, 1, end.stderr);
});
