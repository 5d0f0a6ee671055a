/**
 * The cluster demo (docs/cluster.md): on this one machine, a redis-server and four memcached on
 * free ports, a few generated minute-logs whose keys repeat across files, two `memc-load worker`
 * processes and one `memc-load enqueue --wait`; then `memc-load status`, and every key read back
 * and compared with a plain fold over the files (the tests' oracle). Everything is stopped again,
 * whatever happens.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVICE_TYPES } from '../src/config/servers.js';
import { generateLogs } from '../src/generate/index.js';
import { compareValues } from '../test/helpers/check.js';
import { startServers, stopAll } from '../test/helpers/memcached.js';
import { expectFrom, pendingFiles } from '../test/helpers/oracle.js';
import { repoRoot } from '../test/helpers/paths.js';
import { startRedis, stopAllRedis } from '../test/helpers/redis.js';

const BIN = join(repoRoot(), 'bin/memc-load.js');
const dir = mkdtempSync(join(tmpdir(), 'memc-load-cluster-demo-'));
const workers: ChildProcess[] = [];
try {
  const [redis, servers] = await Promise.all([startRedis(), startServers(4)]);
  const labels = servers.map((s) => s.address.label);
  console.log(`\n== redis-server on ${redis.url} (appendonly yes, maxmemory-policy noeviction)`);
  console.log(`== four memcached: ${DEVICE_TYPES.map((t, i) => `${t} → ${labels[i]}`).join(', ')}`);
  const logs = join(dir, 'appsinstalled');
  const gen = await generateLogs({ dir: logs, files: 4, lines: 50_000, seed: 2017, repeatRate: 1 / 3, badRate: 0.002 });
  const expected = expectFrom(pendingFiles(logs));
  console.log(`== generated ${gen.files.length} minute-logs, ${gen.lines} lines (a third of them repeat an earlier key), in ${logs}`);

  for (let i = 0; i < 2; i++) {
    const args = ['worker', '--redis', redis.url];
    console.log(`== memc-load ${args.join(' ')} &`);
    workers.push(spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'inherit', 'inherit'] }));
  }
  const args = ['enqueue', '--redis', redis.url, '--pattern', join(logs, '*.tsv.gz'), ...DEVICE_TYPES.flatMap((t, i) => [`--${t}`, labels[i] as string]), '--wait'];
  console.log(`\n== memc-load ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [BIN, ...args], { stdio: 'inherit' });
  console.log(`\n== exit status ${run.status}`);
  console.log(`\n== memc-load status --redis ${redis.url}\n`);
  spawnSync(process.execPath, [BIN, 'status', '--redis', redis.url], { stdio: 'inherit' });
  console.log(`== files now: ${readdirSync(logs).sort().join('  ')}  (dot-prefixed = loaded)`);

  let bad = 0;
  let keys = 0;
  for (const [i, t] of DEVICE_TYPES.entries()) {
    const want = expected.byType[t] as Map<string, Buffer>;
    const r = await compareValues(servers[i]!.address, want);
    keys += want.size;
    bad += r.missing + r.wrong;
    console.log(`== ${t} on ${labels[i]}: ${want.size} keys, ${r.missing} missing, ${r.wrong} wrong${r.example ? ` (e.g. ${r.example})` : ''}`);
  }
  console.log(bad === 0 ? `== every value right: ${keys} keys, each the last line naming it` : `== ${bad} of ${keys} values NOT right`);
  process.exitCode = run.status === 0 && bad === 0 ? 0 : 1;
} finally {
  await Promise.all(workers.map((w) => new Promise<void>((resolve) => (w.exitCode !== null ? resolve() : (w.once('exit', () => resolve()), w.kill('SIGTERM'))))));
  await stopAll();
  await stopAllRedis();
  rmSync(dir, { recursive: true, force: true });
  console.log('\n== workers, servers and Redis stopped, demo files removed');
}
