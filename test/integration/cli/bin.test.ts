/** The real bin in a child process: the flags a cron job or an operator relies on. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { RUN_FLAGS } from '../../../src/cli/flags.js';
import { runCli } from '../../helpers/cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { escapeRegExp as escape } from '../../helpers/scratch.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-load-bin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('-t passes and says so in the log', async () => {
  const r = await runCli(['-t']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /I self-test passed: 3 samples/);
  assert.match(r.stderr, /idfa:1rfw452y52g2gq4g: ok/);
});

test('-l writes the log to the file (appended), nothing to stderr', async () => {
  const log = join(dir, 'run.log');
  const first = await runCli(['-t', '-l', log]);
  const second = await runCli(['--test', '--log', log]);
  assert.equal(first.code, 0);
  assert.equal(second.code, 0);
  assert.equal(first.stderr + second.stderr, '');
  const text = readFileSync(log, 'utf8');
  assert.equal(text.match(/self-test passed/g)?.length, 2);
});

test('a pattern matching nothing in an existing folder is not an error: logged, exit 0', async () => {
  mkdirSync(join(dir, 'none'));
  const r = await runCli(['--pattern', join(dir, 'none/*.tsv.gz')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /No files match .*none\/\*\.tsv\.gz: nothing to do/);
});

const usage: [string, string[], RegExp][] = [
  ['unknown flag', ['--bogus'], /bogus/],
  ['malformed host:port', ['--idfa', 'nohost'], /--idfa: "nohost" is not host:port/],
  ['bad number', ['--workers', 'x'], /--workers/],
  ['unwritable log file', ['-l', '/nonexistent-dir/x.log', '--pattern', join(dir, 'none/*')], /cannot open \/nonexistent-dir\/x\.log/],
  ['host:port without a port', ['--gaid', '127.0.0.1:'], /--gaid: "127\.0\.0\.1:" is not host:port/],
  ['host:port without a host', ['--adid', ':33015'], /--adid: ":33015" is not host:port/],
  ['IPv6 without a port', ['--dvid', '[::1]'], /--dvid: "\[::1\]" is not host:port/],
  ['port out of range', ['--idfa', '127.0.0.1:65536'], /--idfa: "127\.0\.0\.1:65536": port 65536 out of range \(1-65535\)/],
  ['a timeout of zero', ['--timeout', '0'], /--timeout: 0 is out of range/],
  ['a value given to a switch', ['--fail-on-evictions=yes'], /fail-on-evictions/],
  ['a positional argument', ['/data/*.tsv.gz'], /\/data\/\*\.tsv\.gz/],
];
for (const [name, args, message] of usage) {
  test(`${name}: one clear message, exit 2, no stack trace`, async () => {
    const r = await runCli(args);
    assert.equal(r.code, 2);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  });
}

test('checked before anything is read (issue #12): a missing pattern folder, a folder for a pattern, an unwritable --report', async () => {
  const sub = join(dir, 'preflight');
  mkdirSync(sub);
  const file = join(sub, '20170929000000.tsv.gz');
  writeFileSync(file, gzipSync('idfa\tabc\t1.0\t2.0\t1,2\n'));
  const cases: [string[], RegExp][] = [
    [['--pattern', join(dir, 'missing', '*.tsv.gz')], new RegExp(`the folder ${escape(join(dir, 'missing'))} does not exist`)],
    [['--pattern', sub], new RegExp(`--pattern ${escape(sub)} is a folder, not a pattern of files; did you mean ${escape(sub)}/\\*\\.tsv\\.gz\\?`)],
    [['--pattern', join(sub, '*.tsv.gz'), '--report', join(dir, 'nope', 'r.json')], /--report: cannot write .*nope\/r\.json: its folder .*nope is missing or not writable/],
    [['--pattern', join(sub, '*.tsv.gz'), '--report', sub], /--report .*preflight is a folder; give a file name/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli([...args, '--idfa', '127.0.0.2:1']);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /Processing|\n\s+at /, 'nothing read, no stack trace');
  }
  assert.deepEqual(readdirSync(sub), ['20170929000000.tsv.gz'], 'nothing renamed');
});

test('an unbuilt clone says what to run, not a module-not-found stack (issue #12)', () => {
  const clone = join(dir, 'unbuilt');
  mkdirSync(join(clone, 'bin'), { recursive: true });
  copyFileSync(join(repoRoot(), 'bin', 'memc-load.js'), join(clone, 'bin', 'memc-load.js'));
  const r = spawnSync(process.execPath, [join(clone, 'bin', 'memc-load.js'), '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not built yet: run `npm ci && npm run build`/);
  assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|\n\s+at /);
});

test('generate: one line and exit 2 for a path it cannot write, and for files that exist unless --force (issue #12)', async () => {
  const plainFile = join(dir, 'a-file');
  writeFileSync(plainFile, 'x');
  const under = await runCli(['generate', '--out', join(plainFile, 'logs'), '--files', '1', '--lines', '10']);
  assert.equal(under.code, 2);
  assert.match(under.stderr, /^memc-load generate: --out: cannot write into the folder \S*a-file\/logs \(ENOTDIR/);
  assert.doesNotMatch(under.stderr, /\n\s+at /, 'no stack trace');
  const out = join(dir, 'gen');
  const args = ['generate', '--out', out, '--files', '2', '--lines', '10'];
  assert.equal((await runCli(args)).code, 0);
  const first = readFileSync(join(out, '20170929000000.tsv.gz'));
  const again = await runCli([...args, '--seed', '9']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^memc-load generate: .*20170929000000\.tsv\.gz exists already; pass --force to replace it\n$/);
  assert.deepEqual(readFileSync(join(out, '20170929000000.tsv.gz')), first, 'left as it was');
  const forced = await runCli([...args, '--seed', '9', '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.notDeepEqual(readFileSync(join(out, '20170929000000.tsv.gz')), first, 'replaced');
});

test('--help documents every option with its default; --version prints the version', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  for (const [name, doc] of Object.entries(RUN_FLAGS)) {
    assert.match(help.stdout, new RegExp(`--${name}\\b`), name);
    if (doc.def !== undefined) assert.ok(help.stdout.includes(`(default: ${doc.def})`), `${name} default`);
  }
  const version = await runCli(['--version']);
  const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(version.stdout.trim(), pkg.version);
});

test('a file that is not gzip fails to load with its name in the log, exit 1', async () => {
  const sub = join(dir, 'notgzip');
  mkdirSync(sub);
  writeFileSync(join(sub, '20170929000000.tsv.gz'), 'idfa\tplain text, not gzip\n');
  const r = await runCli(['--pattern', join(sub, '*.tsv.gz'), '--dry']);
  assert.equal(r.code, 1);
  // Said as what it is (issue #20, item 2), not as "gzip data broken at compressed byte 0 (incorrect header check)".
  assert.match(r.stderr, /20170929000000\.tsv\.gz: not a gzip file \(its first bytes are not a gzip header\)/);
  assert.doesNotMatch(r.stderr, /after line 0/, 'no line was read: no line is named');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('a pattern that matches only done (dot) files is a run with nothing to do: exit 0', async () => {
  const sub = join(dir, 'alldone');
  mkdirSync(sub);
  writeFileSync(join(sub, '.20170929000000.tsv.gz'), '');
  const r = await runCli(['--pattern', join(sub, '*.tsv.gz'), '--dry']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /No files match .*alldone\/\*\.tsv\.gz: nothing to do/);
});

test('a file that cannot be read: one clear error naming it, the other files still read, exit 1, no stack trace', async (t) => {
  const sub = join(dir, 'unreadable');
  mkdirSync(sub);
  const good = gzipSync('idfa\ta1\t1\t2\t3\n');
  writeFileSync(join(sub, '20170929000000.tsv.gz'), good);
  writeFileSync(join(sub, '20170929000200.tsv.gz'), good);
  const bad = join(sub, '20170929000100.tsv.gz');
  if (process.platform !== 'linux') return t.skip('needs /proc/self/mem');
  // Reading /proc/self/mem from offset 0 fails with EIO, even as root (chmod 000 does not stop root).
  symlinkSync('/proc/self/mem', bad);
  const r = await runCli(['--pattern', join(sub, '*.tsv.gz'), '--dry']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /E \S+20170929000100\.tsv\.gz: could not read the file \(EIO: i\/o error, read\)\n/);
  assert.match(r.stderr, /20170929000000\.tsv\.gz: succeeded/);
  assert.match(r.stderr, /20170929000200\.tsv\.gz: succeeded/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});
