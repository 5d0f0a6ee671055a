import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCli, type Command } from '../../../src/cli/args.js';
import { helpText } from '../../../src/cli/flags.js';
import { DEFAULTS } from '../../../src/config/options.js';

function runOptions(argv: string[]) {
  const c: Command = parseCli(argv);
  assert.equal(c.kind, 'run');
  return c.kind === 'run' ? c : assert.fail();
}

test('no flags: the reference loader defaults', () => {
  const { options, logFile } = runOptions([]);
  assert.equal(options.pattern, '/data/appsinstalled/*.tsv.gz');
  assert.deepEqual(
    Object.fromEntries(Object.entries(options.servers).map(([k, v]) => [k, v.label])),
    { idfa: '127.0.0.1:33013', gaid: '127.0.0.1:33014', adid: '127.0.0.1:33015', dvid: '127.0.0.1:33016' },
  );
  assert.equal(options.dry, false);
  assert.equal(options.maxErrorRate, 0.01);
  assert.equal(options.failOnEvictions, false);
  assert.equal(options.gunzip, 'auto');
  assert.equal(options.encoder, 'auto');
  assert.equal(options.waitLock, 0);
  assert.equal(logFile, null);
});

const cases: [string, string[], (c: Command) => void][] = [
  ['-t', ['-t'], (c) => assert.equal(c.kind, 'test')],
  ['--test with -l', ['--test', '-l', 'x.log'], (c) => assert.deepEqual(c, { kind: 'test', logFile: 'x.log' })],
  ['--help', ['--help'], (c) => assert.equal(c.kind, 'help')],
  ['-h', ['-h'], (c) => assert.equal(c.kind, 'help')],
  ['--version', ['--version'], (c) => assert.equal(c.kind, 'version')],
  ['--log=FILE', ['--log=/tmp/a.log'], (c) => assert.equal(c.kind === 'run' && c.logFile, '/tmp/a.log')],
  ['--dry', ['--dry'], (c) => assert.equal(c.kind === 'run' && c.options.dry, true)],
  ['--pattern', ['--pattern', '/x/*.gz'], (c) => assert.equal(c.kind === 'run' && c.options.pattern, '/x/*.gz')],
  // One server is a pool of one node (issue #13).
  ['--idfa host:port', ['--idfa', 'mc1:11211'], (c) => assert.deepEqual(c.kind === 'run' && c.options.servers.idfa, { nodes: [{ host: 'mc1', port: 11211, label: 'mc1:11211', weight: 1 }], label: 'mc1:11211' })],
  ['--dvid [v6]:port', ['--dvid=[::1]:5000'], (c) => assert.deepEqual(c.kind === 'run' && c.options.servers.dvid, { nodes: [{ host: '::1', port: 5000, label: '[::1]:5000', weight: 1 }], label: '[::1]:5000' })],
  ['--idfa a pool with weights, IPv6 and a hostname', ['--idfa', '10.0.0.1:11211, [::1]:11212:3,mc3:11211:2'], (c) =>
    assert.deepEqual(c.kind === 'run' && c.options.servers.idfa, {
      nodes: [
        { host: '10.0.0.1', port: 11211, label: '10.0.0.1:11211', weight: 1 },
        { host: '::1', port: 11212, label: '[::1]:11212', weight: 3 },
        { host: 'mc3', port: 11211, label: 'mc3:11211', weight: 2 },
      ],
      label: '10.0.0.1:11211,[::1]:11212:3,mc3:11211:2',
    })],
  ['--distribution default', [], (c) => assert.equal(c.kind === 'run' && c.options.distribution, 'ketama-weighted')],
  ['--distribution modula', ['--distribution', 'modula'], (c) => assert.equal(c.kind === 'run' && c.options.distribution, 'modula')],
  ['--workers 0', ['--workers', '0'], (c) => assert.equal(c.kind === 'run' && c.options.workers, 0)],
  ['--max-error-rate', ['--max-error-rate', '0.5'], (c) => assert.equal(c.kind === 'run' && c.options.maxErrorRate, 0.5)],
  ['--timeout', ['--timeout', '750'], (c) => assert.equal(c.kind === 'run' && c.options.responseTimeoutMs, 750)],
  ['--fail-on-evictions', ['--fail-on-evictions'], (c) => assert.equal(c.kind === 'run' && c.options.failOnEvictions, true)],
  ['--batch-bytes', ['--batch-bytes', '65536'], (c) => assert.equal(c.kind === 'run' && c.options.batchBytes, 65536)],
  ['--gunzip pool', ['--gunzip', 'pool'], (c) => assert.equal(c.kind === 'run' && c.options.gunzip, 'pool')],
  ['--gunzip isal', ['--gunzip', 'isal'], (c) => assert.equal(c.kind === 'run' && c.options.gunzip, 'isal')],
  ['--encoder js', ['--encoder', 'js'], (c) => assert.equal(c.kind === 'run' && c.options.encoder, 'js')],
  ['--encoder native', ['--encoder', 'native'], (c) => assert.equal(c.kind === 'run' && c.options.encoder, 'native')],
  ['--wait-lock', ['--wait-lock', '90'], (c) => assert.equal(c.kind === 'run' && c.options.waitLock, 90)],
  ['--wait-lock fractional', ['--wait-lock=0.5'], (c) => assert.equal(c.kind === 'run' && c.options.waitLock, 0.5)],
  ['--log-rejected: 10 by default', [], (c) => assert.equal(c.kind === 'run' && c.options.logRejected, 10)],
  ['--log-rejected 0', ['--log-rejected', '0'], (c) => assert.equal(c.kind === 'run' && c.options.logRejected, 0)],
  ['--log-rejected 250', ['--log-rejected=250'], (c) => assert.equal(c.kind === 'run' && c.options.logRejected, 250)],
  ['log level: info by default', [], (c) => assert.equal(c.kind === 'run' && c.cli.logLevel, 'info')],
  ['log level: -v is debug', ['-v'], (c) => assert.equal(c.kind === 'run' && c.cli.logLevel, 'debug')],
  ['log level: -q is error on stderr', ['-q'], (c) => assert.equal(c.kind === 'run' && c.cli.logLevel, 'error')],
  ['log level: -q with --log FILE keeps info', ['-q', '-l', 'x.log'], (c) => assert.equal(c.kind === 'run' && c.cli.logLevel, 'info')],
  ['log level: --log-level wins over -q', ['-q', '--log-level', 'warn'], (c) => assert.equal(c.kind === 'run' && c.cli.logLevel, 'warn')],
  ['log level: -v with --log-level debug', ['-v', '--log-level=debug'], (c) => assert.equal(c.kind === 'run' && c.cli.logLevel, 'debug')],
  ['generate', ['generate', '--out', 'd', '--files', '2', '--lines', '5', '--bad-rate', '0.1', '--crlf'], (c) => {
    assert.equal(c.kind, 'generate');
    if (c.kind === 'generate') assert.deepEqual([c.generate.dir, c.generate.files, c.generate.lines, c.generate.badRate, c.generate.crlf], ['d', 2, 5, 0.1, true]);
  }],
];
for (const [name, argv, check] of cases) test(`parses ${name}`, () => check(parseCli(argv)));

const bad: [string, string[], string, RegExp][] = [
  ['unknown flag', ['--frobnicate'], 'MCL_ERR_INVALID_ARG', /frobnicate/],
  ['positional argument', ['file.gz'], 'MCL_ERR_INVALID_ARG', /file\.gz/],
  ['malformed address', ['--gaid', 'localhost'], 'MCL_ERR_CONFIG', /--gaid: "localhost" is not host:port/],
  ['port out of range', ['--adid', '127.0.0.1:70000'], 'MCL_ERR_CONFIG', /--adid/],
  ['non-numeric workers', ['--workers', 'many'], 'MCL_ERR_INVALID_ARG', /--workers/],
  ['fractional workers', ['--workers', '1.5'], 'MCL_ERR_INVALID_ARG', /--workers/],
  ['error rate over 1', ['--max-error-rate', '2'], 'MCL_ERR_CONFIG', /--max-error-rate/],
  ['negative wait-lock', ['--wait-lock=-1'], 'MCL_ERR_CONFIG', /--wait-lock/],
  ['negative workers, as a separate argument', ['--workers', '-1'], 'MCL_ERR_CONFIG', /--workers: -1 is out of range/],
  ['a negative ttl, as a separate argument', ['--ttl', '-5'], 'MCL_ERR_CONFIG', /--ttl/],
  ['non-numeric wait-lock', ['--wait-lock', 'forever'], 'MCL_ERR_INVALID_ARG', /--wait-lock/],
  ['a fractional --log-rejected', ['--log-rejected', '2.5'], 'MCL_ERR_INVALID_ARG', /^--log-rejected: "2\.5" is not a whole number$/],
  ['a --log-rejected over a million', ['--log-rejected', '1000001'], 'MCL_ERR_CONFIG', /^--log-rejected: 1000001 is out of range \(0\.\.1000000\)$/],
  ['missing value', ['--pattern'], 'MCL_ERR_INVALID_ARG', /pattern/],
  ['a value for a boolean flag', ['--fail-on-evictions=yes'], 'MCL_ERR_INVALID_ARG', /fail-on-evictions/],
  ['generate bad rate', ['generate', '--bad-rate', '1.5'], 'MCL_ERR_CONFIG', /--bad-rate/],
  ['an unknown log level', ['--log-level', 'trace'], 'MCL_ERR_INVALID_ARG', /--log-level: "trace" is not one of error, warn, info, debug/],
  ['-v against another --log-level', ['-v', '--log-level', 'error'], 'MCL_ERR_INVALID_ARG', /-v\/--verbose means --log-level debug/],
  ['an unknown gunzip mode', ['--gunzip', 'gpu'], 'MCL_ERR_INVALID_ARG', /--gunzip: "gpu" is not auto, isal, inline, pool/],
  ['an unknown encoder', ['--encoder', 'wasm'], 'MCL_ERR_INVALID_ARG', /--encoder: "wasm" is not auto, native, js/],
  ['a bad node in a pool', ['--idfa', 'a:1,b'], 'MCL_ERR_CONFIG', /^--idfa: "b" is not host:port \(e\.g\. 127\.0\.0\.1:33013\); a pool is host:port\[:weight\],…/],
  ['an empty item in a pool', ['--idfa', 'a:1,'], 'MCL_ERR_CONFIG', /^--idfa: "" is not host:port/],
  ['a weight of 0', ['--gaid', 'a:1:0,b:2'], 'MCL_ERR_CONFIG', /^--gaid: "a:1:0": the weight must be a whole number from 1 to 1000$/],
  ['a weight over 1000', ['--gaid', 'a:1:1001'], 'MCL_ERR_CONFIG', /^--gaid: "a:1:1001": the weight must be/],
  ['a node twice in a pool', ['--adid', 'a:1,b:2,A:1:3'], 'MCL_ERR_CONFIG', /^--adid: A:1 is listed twice in "a:1,b:2,A:1:3"; list each node of a pool once$/],
  ['an unknown distribution', ['--distribution', 'random'], 'MCL_ERR_INVALID_ARG', /^--distribution: "random" is not ketama-weighted, ketama or modula$/],
];
for (const [name, argv, code, message] of bad) {
  test(`rejects ${name} with ${code}`, () => {
    assert.throws(() => parseCli(argv), (err: Error & { code?: string }) => {
      assert.equal(err.code, code);
      assert.match(err.message, message);
      return true;
    });
  });
}

test('mistakes get their likely cause (issue #20, item 2): a misspelt flag, an unquoted glob, port 0', () => {
  const message = (argv: string[]) => {
    try {
      parseCli(argv);
    } catch (err) {
      return (err as Error).message;
    }
    return 'no error';
  };
  assert.equal(message(['--patern', 'x']), "Unknown option '--patern'; did you mean --pattern?");
  assert.equal(message(['--max-eror-rate', '1']), "Unknown option '--max-eror-rate'; did you mean --max-error-rate?");
  assert.equal(message(['--frobnicate']), "Unknown option '--frobnicate'", 'nothing near: no guess');
  assert.match(message(['generate', '--lnies', '5']), /Unknown option '--lnies'; did you mean --lines\?/);
  assert.match(message(['--pattern', '/d/1.tsv.gz', '/d/2.tsv.gz']), /Unexpected argument '\/d\/2\.tsv\.gz'.*the shell expanded an unquoted --pattern into several files; quote it/);
  assert.doesNotMatch(message(['--dry', 'stray']), /shell expanded/, 'a stray word after another flag is not blamed on the shell');
  assert.equal(message(['--idfa', '127.0.0.1:0']), '--idfa: "127.0.0.1:0": port 0 out of range (1-65535)');
  assert.equal(message(['--idfa', '127.0.0.1:70000']), '--idfa: "127.0.0.1:70000": port 70000 out of range (1-65535)');
  assert.match(message(['--idfa', '127.0.0.1']), /is not host:port/);
});

test('generate and where have a short help of their own', () => {
  for (const [argv, topic] of [[['generate', '-h'], 'generate'], [['where', '--help'], 'where']] as const) {
    const c = parseCli([...argv]);
    assert.deepEqual(c, { kind: 'help', topic });
    const text = helpText('1.0', topic);
    assert.match(text, new RegExp(`^Usage: memc-load ${topic} `));
    assert.ok(text.split('\n').length < 25, `${topic}'s help is short`);
    assert.doesNotMatch(text, /--max-error-rate/);
  }
});

test('the default worker setting is auto: inline until threads pay (issue #19); auto and numbers are accepted', () => {
  assert.equal(DEFAULTS.workers, 'auto');
  assert.equal(runOptions([]).options.workers, 'auto');
  assert.equal(runOptions(['--workers', 'auto']).options.workers, 'auto');
  assert.equal(runOptions(['--workers', '2']).options.workers, 2);
  assert.throws(() => runOptions(['--workers', 'Auto']), /--workers: "Auto" is neither a number nor auto/);
});

test('"workers": "auto" in --config, and a number there, reach the options', () => {
  withTempDir((dir) => {
    const config = join(dir, 'c.json');
    writeFileSync(config, JSON.stringify({ workers: 'auto' }));
    assert.equal(runOptions(['--config', config]).options.workers, 'auto');
    writeFileSync(config, JSON.stringify({ workers: 0 }));
    assert.equal(runOptions(['--config', config]).options.workers, 0);
    assert.equal(runOptions(['--config', config, '--workers', 'auto']).options.workers, 'auto', 'the flag wins');
  });
});

test('a bad address is named where it was written: the flag, the environment variable, the config file (issue #12)', () => {
  withTempDir((dir) => {
    const config = join(dir, 'c.json');
    writeFileSync(config, JSON.stringify({ adid: 'nohost' }));
    const env = { MEMC_LOAD_GAID: 'badhost' };
    const named = (argv: string[]) => {
      try {
        parseCli(argv, env);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    assert.match(named([]), /^MEMC_LOAD_GAID: "badhost" is not host:port/);
    assert.equal(named(['--gaid', '127.0.0.1:1', '--idfa', 'x']), '--idfa: "x" is not host:port (e.g. 127.0.0.1:33013)', 'a flag wins over the variable');
    assert.match(named(['--gaid', '127.0.0.1:1', '--config', config]), new RegExp(`^--config ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: "adid": "nohost" is not host:port`));
    assert.equal(runOptionsEnv(['--gaid', '127.0.0.1:1'], env).options.servers.gaid.label, '127.0.0.1:1', 'an overridden variable is not checked');
    // A value of the wrong kind too (issue #20, item 2): the file and its key, not --workers.
    writeFileSync(config, JSON.stringify({ workers: 'two', 'max-error-rate': 'lots' }));
    assert.match(named(['--gaid', '127.0.0.1:1', '--config', config]), new RegExp(`^--config .*c\\.json: "workers": "two" is neither a number nor auto$`));
    assert.equal(named(['--gaid', '127.0.0.1:1', '--config', config, '--workers', '1.5']), '--workers: "1.5" is not a whole number', 'the flag wins, and is named');
    writeFileSync(config, JSON.stringify({ encoder: 'js' }));
    assert.equal(runOptionsEnv(['--config', config], {}).options.encoder, 'js', '--encoder in a config file');
    writeFileSync(config, JSON.stringify({ max_error_rate: 0.1 }));
    assert.match(named(['--gaid', '127.0.0.1:1', '--config', config]), /^--config \S*c\.json: unknown option "max_error_rate"; did you mean "max-error-rate"\?$/);
  });
});

test('a pool is written the same way in a flag, an environment variable and the config file, where it may also be an array', () => {
  withTempDir((dir) => {
    const pool = 'mc1:11211,[::1]:11211:2,mc3:11212:3';
    const flag = runOptions(['--gaid', pool]).options.servers.gaid;
    assert.equal(flag.nodes.length, 3);
    assert.deepEqual(runOptionsEnv([], { MEMC_LOAD_GAID: pool }).options.servers.gaid, flag);
    const asString = join(dir, 's.json');
    writeFileSync(asString, JSON.stringify({ gaid: pool, distribution: 'ketama' }));
    const fromString = runOptionsEnv(['--config', asString], {}).options;
    assert.deepEqual(fromString.servers.gaid, flag);
    assert.equal(fromString.distribution, 'ketama');
    const asArray = join(dir, 'a.json');
    writeFileSync(asArray, JSON.stringify({ gaid: pool.split(',') }));
    assert.deepEqual(runOptionsEnv(['--config', asArray], {}).options.servers.gaid, flag);
    assert.equal(runOptionsEnv([], { MEMC_LOAD_DISTRIBUTION: 'modula' }).options.distribution, 'modula');
    writeFileSync(asArray, JSON.stringify({ gaid: ['mc1:11211', 7] }));
    assert.throws(() => parseCli(['--config', asArray], {}), /"gaid" must be "host:port\[:weight\],…" or a non-empty array of such strings/);
  });
});

function runOptionsEnv(argv: string[], env: NodeJS.ProcessEnv) {
  const c: Command = parseCli(argv, env);
  return c.kind === 'run' ? c : assert.fail();
}

test('--help keeps every option text in one column, a long flag putting its text on the next line', () => {
  const lines = helpText('9.9.9').split('\n');
  const flagLines = lines.filter((l) => /^ {2}(-\w, | {4})--\w/.test(l));
  assert.ok(flagLines.length > 20, 'the options are listed');
  for (const [i, l] of lines.entries()) {
    if (!flagLines.includes(l)) continue;
    const next = lines[i + 1] ?? '';
    const text = next.startsWith(' '.repeat(37)) ? next : l;
    assert.ok(text[36] === ' ' && text[37] !== undefined && text[37] !== ' ', `misaligned: ${JSON.stringify(l)}`);
  }
});

/** Runs `body` with a fresh temporary folder (for config files), removed afterwards whatever happens. */
function withTempDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'memc-args-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
