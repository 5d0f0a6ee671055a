/**
 * What an operator touches: the JSON report, JSON logs, TTL, packed values, environment and
 * config-file settings, the library API, the progress line on a terminal, and watch mode with
 * metrics scraped over HTTP. Real memcached, the real bin.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { generateLogs } from '../../../src/generate/index.js';
import { getMany, getManyWithTtl } from '../../../src/memcached/admin.js';
import { checkServers } from '../../helpers/check.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { freePort, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { decode, expectFrom, pendingFiles, TYPES } from '../../helpers/oracle.js';
import { repoRoot } from '../../helpers/paths.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-op-');
const root = scratch.root;
const dataset = scratch.dataset;
let servers: MemcachedHandle[];
let labels: string[];

before(async () => {
  await generateLogs({ dir: dataset, files: 2, lines: 1500, seed: 21, repeatRate: 0.2, badRate: 0.004 });
  servers = await startServers(4);
  labels = servers.map((s) => s.address.label);
});
after(async () => {
  await stopAll();
  scratch.remove();
});


/** A key per server from the data, with its expected record. */
function sampleKeys(dir: string) {
  const e = expectFrom(pendingFiles(dir));
  const last = new Map(e.records.map((r) => [r.key, r]));
  return TYPES.map((t) => [...last.values()].find((r) => r.type === t)!);
}

test('--report FILE writes a JSON report that validates against its schema; - prints it on stdout', async () => {
  const dir = scratch.copy('report');
  const file = join(root, 'report.json');
  const r = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--report', file, ...serverArgs(labels)]);
  assert.equal(r.code, 0, r.stderr);
  const schema = JSON.parse(readFileSync(join(repoRoot(), 'docs/report.schema.json'), 'utf8'));
  const ajv = new Ajv.default({ strict: false });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  const report = JSON.parse(readFileSync(file, 'utf8')) as { files: { outcome: string; renamed: boolean }[]; exitCode: number };
  assert.ok(validate({ ...report }), JSON.stringify(validate.errors));
  assert.equal(report.files.length, 2);
  assert.ok(report.files.every((f) => f.outcome === 'succeeded' && f.renamed));
  assert.equal(report.exitCode, 0);

  // --dry prints records on stdout, so the report cannot go there too (issue #12): a usage error,
  // before anything is read; the report goes to a file instead.
  const mixed = await runCli(['--dry', '--pattern', join(scratch.copy('report-dry-mixed'), '*.tsv.gz'), '--report', '-', ...serverArgs(labels)]);
  assert.equal(mixed.code, 2, mixed.stderr);
  assert.equal(mixed.stdout, '');
  assert.match(mixed.stderr, /--report FILE/);
  const dryFile = join(root, 'report-dry.json');
  const dry = await runCli(['--dry', '--pattern', join(scratch.copy('report-dry'), '*.tsv.gz'), '--report', dryFile, ...serverArgs(labels)]);
  assert.equal(dry.code, 0, dry.stderr);
  const printed = JSON.parse(readFileSync(dryFile, 'utf8')) as { schema: string; dry: boolean; options: { dry: boolean } };
  assert.ok(validate({ ...printed }), JSON.stringify(validate.errors));
  assert.equal(printed.schema, 'memc-load/report');
  assert.equal(printed.options.dry, true);
  assert.equal(printed.dry, true);
});

test('--log-format json: every log line is one JSON object', async () => {
  const r = await runCli(['--log-format', 'json', '--pattern', join(scratch.copy('jsonlog'), '*.tsv.gz'), ...serverArgs(labels)]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length >= 4);
  const parsed = lines.map((l) => JSON.parse(l) as { level: string; msg: string; time: string; file?: string });
  assert.ok(parsed.every((p) => typeof p.msg === 'string' && /^\d{4}-\d\d-\d\dT/.test(p.time)));
  assert.ok(parsed.some((p) => p.level === 'info' && /succeeded/.test(p.msg) && typeof p.file === 'string'));
});

test('--ttl is visible on the server; --packed values decode to the same message', async () => {
  const dir = scratch.copy('ttl');
  const keys = sampleKeys(dir);
  const r = await runCli(['--ttl', '600', '--packed', '--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels)]);
  assert.equal(r.code, 0, r.stderr);
  for (const [i, rec] of keys.entries()) {
    const got = (await getManyWithTtl((servers[i] as MemcachedHandle).address, [rec.key])).get(rec.key);
    assert.ok(got, rec.key);
    assert.ok(got.ttl > 500 && got.ttl <= 600, `ttl ${got.ttl}`);
    assert.deepEqual(decode(got.value), { apps: rec.apps, lat: rec.lat, lon: rec.lon });
    if (rec.apps.length > 2) assert.equal(got.value[0], 0x0a, 'packed: field 1 as one length-delimited run');
  }
});

test('servers from environment variables; flags win over environment, environment over --config', async () => {
  const dir = scratch.copy('env');
  const keys = sampleKeys(dir);
  const config = join(root, 'config.json');
  // The file names servers that do not exist; env and flags must override it.
  writeFileSync(config, JSON.stringify({ idfa: '127.0.0.1:1', gaid: '127.0.0.1:1', adid: labels[2], dvid: '127.0.0.1:1', pattern: join(dir, '*.tsv.gz') }));
  const env = { ...process.env, MEMC_LOAD_IDFA: labels[0], MEMC_LOAD_GAID: '127.0.0.1:1', MEMC_LOAD_DVID: labels[3] };
  const r = await runCli(['--config', config, '--gaid', labels[1] as string], { env });
  assert.equal(r.code, 0, r.stderr);
  for (const [i, rec] of keys.entries()) {
    const got = (await getMany((servers[i] as MemcachedHandle).address, [rec.key])).get(rec.key);
    assert.ok(got, `${rec.key} on ${labels[i]}`);
  }
  const bad = await runCli(['--config', join(root, 'missing.json')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^memc-load: --config \S*missing\.json: cannot be read as JSON \(ENOENT/);
});

test("the library API: import { load } from 'memc-load' resolves to the report", async () => {
  const dir = scratch.copy('api');
  const { load } = (await import('memc-load')) as typeof import('../../../src/index.js');
  const servers4 = Object.fromEntries(TYPES.map((t, i) => [t, labels[i] as string]));
  const report = await load({ pattern: join(dir, '*.tsv.gz'), servers: servers4, workers: 0 });
  assert.equal(report.ok, true);
  assert.equal(report.files.length, 2);
  assert.equal(report.totals.renamed, 2);
  assert.deepEqual(pendingFiles(dir), []);
});

test('on a terminal a progress line is drawn and a summary table printed; not when piped', async () => {
  const dir = scratch.copy('tty');
  const cmd = [process.execPath, join(repoRoot(), 'bin/memc-load.js'), '--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels)]
    .map((a) => `'${a}'`)
    .join(' ');
  const out = await new Promise<string>((resolve, reject) => {
    // script(1) gives the child a real pseudo-terminal on stdout and stderr.
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COLUMNS: '160' } });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`exit ${code}: ${Buffer.concat(chunks)}`))));
  });
  assert.match(out, /\r\x1b\[2K\[\d\/2\] 2017092900\d{4}\.tsv\.gz +\d+\.\d%/);
  assert.match(out, /file +lines +loaded +rejected/);
  assert.match(out, /total \(2 files\)/);
  const piped = await runCli(['--pattern', join(scratch.copy('pipe'), '*.tsv.gz'), ...serverArgs(labels)]);
  assert.doesNotMatch(piped.stderr, /\x1b\[2K/);
});

async function scrape(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

function metric(body: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : NaN;
}

test('--watch loads files present and arriving, in order, a slow copy only once complete; metrics show it', async () => {
  const dir = join(root, 'watch');
  mkdirSync(dir);
  const src = pendingFiles(dataset);
  const third = join(root, 'third');
  await generateLogs({ dir: third, files: 1, lines: 1500, seed: 22, start: '20170929000200' });
  cpSync(src[0] as string, join(dir, '20170929000000.tsv.gz'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(repoRoot(), 'bin/memc-load.js'), '--watch', '--watch-interval', '200', '--metrics-port', String(port), '--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const until = async (cond: () => boolean | Promise<boolean>, what: string, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${stderr}`);
      await sleep(100);
    }
  };
  try {
    await until(() => readdirSync(dir).includes('.20170929000000.tsv.gz'), 'the first file');
    await until(async () => (await scrape(port, '/metrics').then((r) => r.status, () => 0)) === 200, 'metrics');
    const before = await scrape(port, '/metrics');
    assert.equal(metric(before.body, 'memc_load_files_total{outcome="succeeded"}'), 1);
    assert.equal((await scrape(port, '/healthz')).status, 200);

    // A file copied in slowly: half now, the rest later. It must not be taken half-written.
    const slow = readFileSync(join(third, '20170929000200.tsv.gz'));
    const partial = join(dir, '20170929000200.tsv.gz');
    const fh = await open(partial, 'w');
    await fh.write(slow.subarray(0, slow.length >> 1));
    // Meanwhile the older minute arrives by rename, as a well-behaved producer does.
    cpSync(src[1] as string, join(root, 'incoming.tmp'));
    renameSync(join(root, 'incoming.tmp'), join(dir, '20170929000100.tsv.gz'));
    await until(() => readdirSync(dir).includes('.20170929000100.tsv.gz'), 'the renamed-in file');
    await sleep(600);
    assert.ok(readdirSync(dir).includes('20170929000200.tsv.gz'), 'the half-copied file is left alone');
    await fh.write(slow.subarray(slow.length >> 1));
    await fh.close();
    await until(() => readdirSync(dir).includes('.20170929000200.tsv.gz'), 'the slowly copied file', 30_000);

    const afterScrape = await scrape(port, '/metrics');
    assert.equal(metric(afterScrape.body, 'memc_load_files_total{outcome="succeeded"}'), 3);
    assert.equal(metric(afterScrape.body, 'memc_load_files_total{outcome="failed_load"}'), 0);
    assert.ok(metric(afterScrape.body, 'memc_load_records_loaded_total') > metric(before.body, 'memc_load_records_loaded_total'));
    assert.ok(metric(afterScrape.body, 'memc_load_last_file_done_timestamp_seconds') > 0);
    // Loaded in order: the log names them oldest first.
    const order = [...stderr.matchAll(/Processing .*?(2017092900\d{4})\.tsv\.gz/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(order)], ['20170929000000', '20170929000100', '20170929000200']);
    // And the data is the last line's for every key across the three files.
    const expected = expectFrom([src[0] as string, src[1] as string, join(third, '20170929000200.tsv.gz')]);
    // Earlier tests stored other keys on these servers: compare these keys only.
    await checkServers(servers.map((s) => s.address), expected, { exactCount: false });
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /Watch stopped/);
});
