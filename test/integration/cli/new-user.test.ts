/**
 * The walk of issue #20 through the real bin: each command's own short help, a mistyped flag or
 * config key, an unquoted glob, a missing folder for the cluster commands, and paths that cannot
 * be made (under /proc, where Node's recursive mkdir spun for ever), each one line and exit 2.
 * No server is needed: every case fails before one would be asked (a refused Redis port shows it).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { freePort } from '../../helpers/memcached.js';
import { escapeRegExp, folderMaker, Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-walk-');
const newDir = folderMaker(scratch.root);
let refused: string;
before(async () => {
  refused = `redis://127.0.0.1:${await freePort()}`;
});
after(() => scratch.remove());

/** Spawns in parallel (each is ~0.3 s of start-up), results in the order given. */
const all = (runs: readonly (readonly string[])[]): Promise<CliResult[]> => Promise.all(runs.map((args) => runCli(args, { timeoutMs: 20_000 })));

test('every command has a short help of its own on -h and --help, exit 0', async () => {
  const commands = ['status', 'enqueue', 'worker', 'generate', 'where'];
  const runs = await all(commands.flatMap((c) => [[c, '-h'], [c, '--help']]));
  commands.forEach((c, i) => {
    for (const r of [runs[2 * i]!, runs[2 * i + 1]!]) {
      assert.equal(r.code, 0, `${c}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: memc-load ${c} `), c);
      assert.ok(r.stdout.split('\n').length < 25, `${c}'s help is short, not the loader's:\n${r.stdout}`);
    }
  });
  assert.match(runs[4]!.stdout, /--log-level/, 'worker lists its log settings');
});

test('mistakes name their likely cause: a misspelt flag or config key, an unquoted glob, port 0, a bad value in a file', async () => {
  const dir = newDir();
  const typo = join(dir, 'typo.json');
  writeFileSync(typo, JSON.stringify({ max_error_rate: 0.1 }));
  const two = join(dir, 'two.json');
  writeFileSync(two, JSON.stringify({ workers: 'two' }));
  const [patern, key, glob, port, value, worker] = await all([
    ['--patern', `${dir}/*.tsv.gz`],
    ['--config', typo],
    ['--pattern', join(dir, 'a.tsv.gz'), join(dir, 'b.tsv.gz')],
    ['--idfa', '127.0.0.1:0'],
    ['--config', two],
    ['worker', '--redis', refused, '--concurency', '2'],
  ]);
  for (const r of [patern, key, glob, port, value, worker]) {
    assert.equal(r!.code, 2, r!.stderr);
    assert.doesNotMatch(r!.stderr, /\n\s+at /);
  }
  assert.match(patern!.stderr, /Unknown option '--patern'; did you mean --pattern\?/);
  assert.match(key!.stderr, /unknown option "max_error_rate"; did you mean "max-error-rate"\?/);
  assert.match(glob!.stderr, /the shell expanded an unquoted --pattern into several files; quote it/);
  assert.equal(port!.stderr, 'memc-load: --idfa: "127.0.0.1:0": port 0 out of range (1-65535)\n');
  assert.match(value!.stderr, new RegExp(`--config ${escapeRegExp(two)}: "workers": "two" is neither a number nor auto`));
  assert.match(worker!.stderr, /^memc-load worker: Unknown option '--concurency'; did you mean --concurrency\?\nTry 'memc-load worker --help'/);
});

test('enqueue checks the pattern and the spool as the loader checks its pattern, before Redis: exit 2 with a hint', async () => {
  const dir = newDir();
  writeFileSync(join(dir, '20170929000000.tsv.gz'), gzipSync('idfa\tabc\t1\t2\t3\n'));
  const [missing, folder, spool] = await all([
    ['enqueue', '--redis', refused, '--pattern', join(dir, 'no', '*.tsv.gz')],
    ['enqueue', '--redis', refused, '--pattern', dir],
    ['enqueue', '--redis', refused, '--pattern', join(dir, '*.tsv.gz'), '--spool', '/proc/memc-load-spool'],
  ]);
  assert.equal(missing!.code, 2, missing!.stderr);
  assert.match(missing!.stderr, new RegExp(`^memc-load enqueue: --pattern .*: the folder ${escapeRegExp(join(dir, 'no'))} does not exist`));
  assert.equal(folder!.code, 2, folder!.stderr);
  assert.match(folder!.stderr, new RegExp(`is a folder, not a pattern of files; did you mean ${escapeRegExp(dir)}/\\*\\.tsv\\.gz\\?`));
  assert.equal(spool!.code, 2, spool!.stderr);
  assert.equal(spool!.stderr, "memc-load enqueue: --spool: cannot write into the folder /proc/memc-load-spool (ENOENT: no such file or directory, mkdir '/proc/memc-load-spool')\n");
});

test('a path that cannot be made fails at once with one line and exit 2, in every command (issue #20, item 6)', async () => {
  const dir = newDir();
  writeFileSync(join(dir, '20170929000000.tsv.gz'), gzipSync('idfa\tabc\t1\t2\t3\n'));
  const pattern = join(dir, '*.tsv.gz');
  const runs = await all([
    ['generate', '--out', '/proc/memc-load-x', '--files', '1', '--lines', '10'],
    ['generate', '--out', '/proc/memc-load-x/deeper', '--files', '1', '--lines', '10'],
    ['--pattern', pattern, '--dry', '--report', '/proc/memc-load-x/r.json'],
    ['--pattern', pattern, '--log', '/proc/memc-load-x/l.log'],
    ['worker', '--redis', refused, '--log', '/proc/memc-load-x/w.log'],
    ['enqueue', '--redis', refused, '--pattern', pattern, '--log', '/proc/memc-load-x/e.log'],
  ]);
  for (const r of runs) {
    // Before the fix generate span at full CPU until the 20 s timeout killed it (code null).
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line:\n${r.stderr}`);
    assert.match(r.stderr, /\/proc\/memc-load-x/, 'the path is named');
    assert.doesNotMatch(r.stderr, /Redis|Processing/, 'failed before anything else was tried');
  }
});
