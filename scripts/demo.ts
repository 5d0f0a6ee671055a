/**
 * The local demo: four memcached servers on free ports, a few generated minute-logs (repeated
 * keys, some malformed and blank lines), one real run of the bin, a few values read back and
 * decoded, and the servers stopped again whatever happens.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEVICE_TYPES } from '../src/config/servers.js';
import { generateLogs } from '../src/generate/index.js';
import { getMany } from '../src/memcached/admin.js';
import { decodeUserApps } from '../src/proto/user-apps.js';
import { startServers, stopAll } from '../test/helpers/memcached.js';
import { repoRoot } from '../test/helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-load-demo-'));
try {
  const servers = await startServers(4);
  const labels = servers.map((s) => s.address.label);
  console.log(`\n== four memcached servers: ${DEVICE_TYPES.map((t, i) => `${t} → ${labels[i]}`).join(', ')}`);

  const logs = join(dir, 'appsinstalled');
  const gen = await generateLogs({ dir: logs, files: 3, lines: 50_000, seed: 2017, repeatRate: 0.05, badRate: 0.002, blankRate: 0.001 });
  console.log(`== generated ${gen.files.length} minute-logs, ${gen.lines} lines, in ${logs}`);
  console.log(
    '== about 0.2% of the lines are bad on purpose (as real tracker logs do): expect W lines naming the\n' +
      '   first 10 rejected lines of each file by line and reason (--log-rejected), then one saying how many more;\n' +
      '   they are counted, not loaded, and every file still succeeds',
  );

  const args = ['--pattern', join(logs, '*.tsv.gz'), ...DEVICE_TYPES.flatMap((t, i) => [`--${t}`, labels[i] as string])];
  console.log(`\n== memc-load ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [join(repoRoot(), 'bin/memc-load.js'), ...args], { stdio: 'inherit' });
  console.log(`\n== exit status ${run.status}`);

  console.log(`== files now: ${readdirSync(logs).sort().join('  ')}  (dot-prefixed = loaded)`);

  // Read back the keys of the last few lines of the last file: those values must be theirs.
  const lastFile = join(logs, `.${gen.files[gen.files.length - 1]?.name}`);
  const lines = gunzipSync(readFileSync(lastFile)).toString('latin1').trimEnd().split('\n').slice(-6);
  console.log('\n== values read back from memcached (mg <key> v), decoded:');
  for (const line of lines) {
    const [type, id, lat, lon, apps] = line.split('\t');
    const i = DEVICE_TYPES.indexOf(type as (typeof DEVICE_TYPES)[number]);
    if (i < 0 || !id) continue;
    const key = `${type}:${id}`;
    const value = (await getMany((servers[i] as (typeof servers)[number]).address, [key])).get(key);
    const decoded = value ? decodeUserApps(value) : null;
    console.log(`${labels[i]}  ${key}  ${value ? `${value.length} bytes → ${JSON.stringify(decoded)}` : 'MISSING'}`);
    console.log(`${' '.repeat((labels[i] as string).length)}  line: lat=${lat} lon=${lon} apps=${(apps ?? '').slice(0, 60)}${(apps ?? '').length > 60 ? '…' : ''}`);
  }
  process.exitCode = run.status ?? 1;
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
  console.log('\n== servers stopped, demo files removed');
}
