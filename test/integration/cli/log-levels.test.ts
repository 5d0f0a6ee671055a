/**
 * Log levels (issue #12): --log-level error|warn|info|debug, -v (= debug), and -q, which keeps
 * everything but errors off stderr unless a level is given. One dataset whose files have a few
 * bad lines (warnings: the rejected-line samples) and fail on their data (errors: the verdicts),
 * so one run shows every level. Real memcached, the real bin.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { runCli, serverArgs } from '../../helpers/cli.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { escapeRegExp, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-levels-');
let labels: string[];

before(async () => {
  await generateLogs({ dir: scratch.dataset, files: 2, lines: 1500, seed: 31, badRate: 0.01 });
  labels = (await startServers(4)).map((s) => s.address.label);
});
after(async () => {
  await stopAll();
  scratch.remove();
});

/** A run on a fresh copy whose files fail on their data (error rate over 0.001). */
function run(name: string, extra: readonly string[], env?: NodeJS.ProcessEnv) {
  const dir = scratch.copy(name);
  return runCli(['--pattern', join(dir, '*.tsv.gz'), '--max-error-rate', '0.001', ...serverArgs(labels), ...extra], env ? { env } : {});
}

/** The level letters of the text log lines, as a set. */
function letters(text: string): Set<string> {
  return new Set([...text.matchAll(/^\[\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d\] ([DIWE]) /gm)].map((m) => m[1] as string));
}

test('default level info: I, W and E lines, no D', async () => {
  const r = await run('default', []);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual([...letters(r.stderr)].sort(), ['E', 'I', 'W']);
});

test('--log-level warn: warnings and errors only; error: errors only', async () => {
  const warn = await run('warn', ['--log-level', 'warn']);
  assert.equal(warn.code, 1, warn.stderr);
  assert.deepEqual([...letters(warn.stderr)].sort(), ['E', 'W']);
  const error = await run('error', ['--log-level=error']);
  assert.equal(error.code, 1, error.stderr);
  assert.deepEqual([...letters(error.stderr)], ['E']);
  assert.match(error.stderr, /E Done: 2 file\(s\)/);
});

test('-v and --log-level debug: connection and per-batch events at D', async () => {
  for (const flag of [['-v'], ['--verbose'], ['--log-level', 'debug']]) {
    const r = await run(`debug${flag.join('')}`, flag);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual([...letters(r.stderr)].sort(), ['D', 'E', 'I', 'W'], flag.join(' '));
    assert.match(r.stderr, new RegExp(`D Connecting to ${escapeRegExp(labels[0]!)}\n`));
    assert.match(r.stderr, new RegExp(`D Connected to ${escapeRegExp(labels[3]!)}\n`));
    assert.match(r.stderr, /D Batch of \S+2017092900\d{4}\.tsv\.gz acknowledged by \S+: records=\d+ loaded=\d+ failed=0 too_large=0 in \d+\.\d ms/);
  }
});

test('-q: only errors on stderr; --log-level still wins over -q; the --log FILE gets its own level', async () => {
  const quiet = await run('quiet', ['-q']);
  assert.equal(quiet.code, 1, quiet.stderr);
  assert.deepEqual([...letters(quiet.stderr)], ['E']);

  const quietWarn = await run('quiet-warn', ['-q', '--log-level', 'warn']);
  assert.deepEqual([...letters(quietWarn.stderr)].sort(), ['E', 'W']);

  const logFile = join(scratch.root, 'quiet.log');
  const toFile = await run('quiet-file', ['-q', '--log', logFile]);
  assert.equal(toFile.code, 1, toFile.stderr);
  assert.equal(toFile.stderr, '', 'the log went to the file');
  assert.deepEqual([...letters(readFileSync(logFile, 'utf8'))].sort(), ['E', 'I', 'W'], 'the file gets info and up, as without -q');
});

test('--log-format json honours the level; the level may come from --config', async () => {
  const r = await run('json', ['--log-format', 'json', '--log-level', 'warn']);
  assert.equal(r.code, 1, r.stderr);
  const levels = new Set(r.stderr.trimEnd().split('\n').map((l) => (JSON.parse(l) as { level: string }).level));
  assert.deepEqual([...levels].sort(), ['error', 'warn']);

  const config = join(scratch.root, 'levels.json');
  writeFileSync(config, JSON.stringify({ 'log-level': 'error' }));
  const fromConfig = await run('config', ['--config', config]);
  assert.deepEqual([...letters(fromConfig.stderr)], ['E']);
});

test('a bad level is a usage error naming the allowed values: exit 2, nothing loaded', async () => {
  const r = await run('bad', ['--log-level', 'loud']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--log-level: "loud" is not one of error, warn, info, debug/);
  const clash = await run('clash', ['-v', '--log-level', 'warn']);
  assert.equal(clash.code, 2, clash.stderr);
  assert.match(clash.stderr, /-v\/--verbose means --log-level debug; it cannot go with --log-level warn/);
});
