/**
 * Which line encoder a run uses (--encoder, pipeline/native-encode.ts), that the log says so
 * once, and that the stored bytes do not depend on it: --encoder js and --encoder native load
 * the same logs (with bad lines, on worker threads and with --workers 0) into fresh memcached
 * servers, and every value is read back, compared between the two runs and against the oracle.
 * MEMC_LOAD_NO_NATIVE_ENCODE=1 is the "addon missing" path on purpose.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { checkServers, readValues } from '../../helpers/check.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { stopAll, withServers, type MemcachedHandle } from '../../helpers/memcached.js';
import { nativeEncodeReady } from '../../helpers/native-encode.js';
import { TYPES, expectFrom, pendingFiles, type Expected } from '../../helpers/oracle.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-encoder-choice-'));
let n = 0;
after(async () => {
  await stopAll();
  rmSync(root, { recursive: true, force: true });
});

/** Three fresh minute-logs, the same for every call (the run renames them), and what memcached must hold after them. */
async function logs(): Promise<{ dir: string; expected: Expected }> {
  const dir = join(root, `run${n++}`);
  mkdirSync(dir);
  await generateLogs({ dir, files: 3, lines: 3000, seed: 23, repeatRate: 0.2, badRate: 0.01 });
  return { dir, expected: expectFrom(pendingFiles(dir)) };
}

const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;
const NATIVE_LINE = 'Encoding lines with the native encoder (--encoder native)';
const JS_LINE = 'Native line encoder not used: MEMC_LOAD_NO_NATIVE_ENCODE=1 is set; encoding lines in JS (--encoder js)';

/**
 * A run of the bin over fresh logs into fresh servers; every value read back (by type, in the
 * oracle's key order), and the encoder each file names in the --report.
 */
async function load(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stderr: string; values: string[][]; encoders: (string | null)[] }> {
  const { dir, expected } = await logs();
  const report = join(dir, 'report.json');
  return withServers(4, async (servers: MemcachedHandle[]) => {
    const run = await runCli(['--pattern', join(dir, '*.tsv.gz'), '--report', report, ...args, ...serverArgs(servers.map((s) => s.address.label))], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(pendingFiles(dir), []);
    await checkServers(servers.map((s) => s.address), expected);
    const values: string[][] = [];
    for (const [i, type] of TYPES.entries()) {
      const got = await readValues((servers[i] as MemcachedHandle).address, [...(expected.byType[type] as Map<string, Buffer>).keys()]);
      values.push(got.map((v) => (v === null ? '' : v.toString('hex'))));
    }
    const encoders = (JSON.parse(readFileSync(report, 'utf8')) as { files: { encoder: string | null }[] }).files.map((f) => f.encoder);
    return { stderr: run.stderr, values, encoders };
  });
}

const nativeEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.MEMC_LOAD_NO_NATIVE_ENCODE;
  return env;
};

test('--encoder js and --encoder native store the same bytes, on threads and with --workers 0', { skip: nativeEncodeReady().skip }, async () => {
  for (const workers of ['2', '0']) {
    const js = await load(['--encoder', 'js', '--workers', workers], nativeEnv());
    assert.doesNotMatch(js.stderr, /native encoder|line encoder/, '--encoder js says nothing about the addon');
    assert.deepEqual(js.encoders, ['js', 'js', 'js'], 'the report names the encoder per file');
    const native = await load(['--encoder', 'native', '--workers', workers], nativeEnv());
    assert.equal(occurrences(native.stderr, NATIVE_LINE), 1, native.stderr);
    assert.deepEqual(native.encoders, ['native', 'native', 'native']);
    assert.ok(native.values.flat().length > 5000, 'the runs stored the records');
    assert.deepEqual(native.values, js.values, `--workers ${workers}`);
  }
});

test('addon built, default --encoder: the native encoder, one info line says so', { skip: nativeEncodeReady().skip }, async () => {
  const run = await load([], nativeEnv());
  assert.equal(occurrences(run.stderr, NATIVE_LINE), 1, run.stderr);
  assert.match(run.stderr, / encoder=auto/);
  assert.deepEqual(run.encoders, ['native', 'native', 'native']);
});

test('addon missing (MEMC_LOAD_NO_NATIVE_ENCODE=1), default --encoder: JS encodes, one info line says so and why, the data is whole', async () => {
  const run = await load([], { ...process.env, MEMC_LOAD_NO_NATIVE_ENCODE: '1' });
  assert.equal(occurrences(run.stderr, JS_LINE), 1, run.stderr);
  assert.deepEqual(run.encoders, ['js', 'js', 'js']);
  assert.doesNotMatch(run.stderr, /\bW .*line encoder/, 'a missing addon is no warning');
  assert.doesNotMatch(run.stderr, new RegExp(NATIVE_LINE.replace(/[()]/g, '\\$&')));
});

test('addon missing, --encoder native asked for: JS encodes and it is a warning', async () => {
  const run = await load(['--encoder', 'native'], { ...process.env, MEMC_LOAD_NO_NATIVE_ENCODE: '1' });
  assert.match(run.stderr, /W .*Native line encoder not used: MEMC_LOAD_NO_NATIVE_ENCODE=1 is set/);
  assert.deepEqual(run.encoders, ['js', 'js', 'js']);
});
