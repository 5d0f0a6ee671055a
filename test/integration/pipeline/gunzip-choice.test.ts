/**
 * Which inflater a run uses, that the log says so once and the report (--report) names it per
 * file: the native ISA-L inflater where it passed its start-up check, zlib where it is missing
 * (MEMC_LOAD_NO_ISAL=1 is the "addon missing" path on purpose). Real bin, real memcached, every stored value against the oracle: the data does
 * not depend on the inflater.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { checkServers } from '../../helpers/check.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { isalReady } from '../../helpers/isal.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles } from '../../helpers/oracle.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-gunzip-choice-'));
let n = 0;
after(async () => {
  await stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** Three fresh minute-logs (the run renames them), and what memcached must hold after them. */
async function logs(): Promise<{ dir: string; expected: ReturnType<typeof expectFrom> }> {
  const dir = join(root, `run${n++}`);
  mkdirSync(dir);
  await generateLogs({ dir, files: 3, lines: 600, seed: 19, repeatRate: 0.2, badRate: 0.01 });
  return { dir, expected: expectFrom(pendingFiles(dir)) };
}

/** Where a run writes its --report, and the inflater each file of it names there. */
const reportPath = (dir: string): string => join(dir, 'report.json');
function inflaters(dir: string): (string | null)[] {
  const report = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as { files: { inflater: string | null }[] };
  return report.files.map((f) => f.inflater);
}

const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;
const ZLIB_LINE = 'Native ISA-L inflater not used: MEMC_LOAD_NO_ISAL=1 is set; inflating with zlib on the reading thread (--gunzip inline)';

let servers: Awaited<ReturnType<typeof startServers>>;
before(async () => {
  servers = await startServers(4);
});

test('addon missing (MEMC_LOAD_NO_ISAL=1), default --gunzip: zlib inflates, one info line says so and why, the data is whole', async () => {
  const { dir, expected } = await logs();
  const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--report', reportPath(dir), ...serverArgs(servers.map((s) => s.address.label))], {
    env: { ...process.env, MEMC_LOAD_NO_ISAL: '1' },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(occurrences(run.stderr, ZLIB_LINE), 1, run.stderr);
  assert.doesNotMatch(run.stderr, /\bW .*inflat/, 'a missing addon is no warning');
  assert.doesNotMatch(run.stderr, /Inflating with the native ISA-L inflater/);
  assert.deepEqual(inflaters(dir), ['inline', 'inline', 'inline']);
  assert.deepEqual(pendingFiles(dir), []);
  await checkServers(servers.map((s) => s.address), expected);
});

test('addon missing, --gunzip isal asked for: zlib inflates and it is a warning', async () => {
  const { dir, expected } = await logs();
  const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--gunzip', 'isal', '--report', reportPath(dir), ...serverArgs(servers.map((s) => s.address.label))], {
    env: { ...process.env, MEMC_LOAD_NO_ISAL: '1' },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /W .*Native ISA-L inflater not used: MEMC_LOAD_NO_ISAL=1 is set/);
  assert.deepEqual(inflaters(dir), ['inline', 'inline', 'inline']);
  await checkServers(servers.map((s) => s.address), expected);
});

test('addon built, default --gunzip: ISA-L inflates, one info line says so, the data is whole', { skip: isalReady().skip }, async () => {
  const { dir, expected } = await logs();
  const env = { ...process.env };
  delete env.MEMC_LOAD_NO_ISAL;
  const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--report', reportPath(dir), ...serverArgs(servers.map((s) => s.address.label))], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(occurrences(run.stderr, 'Inflating with the native ISA-L inflater (--gunzip isal)'), 1, run.stderr);
  assert.doesNotMatch(run.stderr, /Native ISA-L inflater not used/);
  assert.deepEqual(inflaters(dir), ['isal', 'isal', 'isal']);
  assert.deepEqual(pendingFiles(dir), []);
  await checkServers(servers.map((s) => s.address), expected);
});

test('--gunzip pool and inline say nothing about ISA-L; the report names the inflater they ask for', async () => {
  for (const mode of ['pool', 'inline']) {
    const { dir } = await logs();
    const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--gunzip', mode, '--report', reportPath(dir), ...serverArgs(servers.map((s) => s.address.label))]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /ISA-L/);
    assert.deepEqual(inflaters(dir), [mode, mode, mode]);
  }
});
