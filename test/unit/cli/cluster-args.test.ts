import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterHelp, parseClusterCli } from '../../../src/cli/cluster-args.js';

const R = ['--redis', 'redis://127.0.0.1:6379'];

test('enqueue: its own flags, and the load options parsed as a single-host run parses them', () => {
  const c = parseClusterCli('enqueue', [...R, '--pattern', '/d/*.tsv.gz', '--spool', '/s', '--wait', '--idfa', 'a:1,b:2', '--ttl', '60', '--workers', '0']);
  assert.equal(c.kind, 'enqueue');
  if (c.kind !== 'enqueue') return;
  assert.deepEqual([c.redis, c.spool, c.wait, c.spoolAhead], [{ url: 'redis://127.0.0.1:6379', timeoutMs: 5000 }, '/s', true, 16]);
  const ahead = parseClusterCli('enqueue', [...R, '--spool-ahead', '2']);
  assert.equal(ahead.kind === 'enqueue' && ahead.spoolAhead, 2);
  assert.equal(c.options.pattern, '/d/*.tsv.gz');
  assert.equal(c.options.servers.idfa.nodes.length, 2);
  assert.equal(c.options.ttl, 60);
  assert.equal(c.options.workers, 1, 'splits always run in a worker thread, so the event loop keeps renewing locks');
});

test('worker and status: defaults and ranges', () => {
  assert.deepEqual(parseClusterCli('worker', R), {
    kind: 'worker',
    redis: { url: 'redis://127.0.0.1:6379', timeoutMs: 5000 },
    concurrency: 1,
    lockMs: 30_000,
    spoolEveryLane: false,
    metricsPort: null,
    metricsHost: '127.0.0.1',
    log: { file: null, format: 'text', level: 'info' },
  });
  const logged = parseClusterCli('worker', [...R, '--log-level', 'warn', '--log-format', 'json', '--log', '/tmp/w.log']);
  assert.deepEqual(logged.kind === 'worker' && logged.log, { file: '/tmp/w.log', format: 'json', level: 'warn' });
  // -h anywhere is the command's own help, before --redis is asked for.
  for (const cmd of ['enqueue', 'worker', 'status'] as const) assert.deepEqual(parseClusterCli(cmd, ['-h']), { kind: 'cluster-help', command: cmd });
  const w = parseClusterCli('worker', [...R, '--concurrency', '4', '--lock-duration', '5000', '--metrics-port', '9100', '--redis-timeout', '200']);
  assert.deepEqual(w.kind === 'worker' && [w.concurrency, w.lockMs, w.metricsPort, w.redis.timeoutMs], [4, 5000, 9100, 200]);
  const spooled = parseClusterCli('worker', [...R, '--spool-every-lane']);
  assert.equal(spooled.kind === 'worker' && spooled.spoolEveryLane, true);
  assert.deepEqual(parseClusterCli('status', [...R, '--json']), { kind: 'status', redis: { url: 'redis://127.0.0.1:6379', timeoutMs: 5000 }, json: true });
  assert.deepEqual(parseClusterCli('status', [], { MEMC_LOAD_REDIS: 'redis://h:1' }), { kind: 'status', redis: { url: 'redis://h:1', timeoutMs: 5000 }, json: false });
  assert.deepEqual(parseClusterCli('status', ['--help']), { kind: 'cluster-help', command: 'status' });
});

const bad: [string, 'enqueue' | 'worker' | 'status', string[], string, RegExp][] = [
  ['no redis', 'status', [], 'MCL_ERR_INVALID_ARG', /give --redis URL/],
  // A misspelt load flag is named before the missing --redis: it is the mistake on the line.
  ['misspelt enqueue flag, no redis', 'enqueue', ['--patern', 'x'], 'MCL_ERR_INVALID_ARG', /^Unknown option '--patern'; did you mean --pattern\?/],
  ['unknown worker flag', 'worker', [...R, '--pattern', 'x'], 'MCL_ERR_INVALID_ARG', /^Unknown option '--pattern'$/],
  ['misspelt worker flag', 'worker', [...R, '--concurency', '2'], 'MCL_ERR_INVALID_ARG', /^Unknown option '--concurency'; did you mean --concurrency\?/],
  ['worker log level', 'worker', [...R, '--log-level', 'loud'], 'MCL_ERR_INVALID_ARG', /--log-level: "loud" is not one of error, warn, info, debug/],
  ['worker log format', 'worker', [...R, '--log-format', 'xml'], 'MCL_ERR_INVALID_ARG', /--log-format: "xml" is not text or json/],
  ['warn-idle 0', 'enqueue', [...R, '--warn-idle', '0'], 'MCL_ERR_CONFIG', /--warn-idle: 0 is out of range/],
  ['concurrency 0', 'worker', [...R, '--concurrency', '0'], 'MCL_ERR_CONFIG', /--concurrency: 0 is out of range \(1\.\.64\)/],
  ['lock under 1 s', 'worker', [...R, '--lock-duration', '10'], 'MCL_ERR_CONFIG', /--lock-duration: 10 is out of range/],
  ['not a number', 'worker', [...R, '--concurrency', 'x'], 'MCL_ERR_INVALID_ARG', /--concurrency: "x" is not a whole number/],
  ['spool-ahead 0', 'enqueue', [...R, '--spool-ahead', '0'], 'MCL_ERR_CONFIG', /--spool-ahead: 0 is out of range/],
  ['enqueue --dry', 'enqueue', [...R, '--dry'], 'MCL_ERR_CONFIG', /--dry has no meaning for a plan/],
  ['enqueue --watch', 'enqueue', [...R, '--watch'], 'MCL_ERR_CONFIG', /--watch is not for plans/],
  ['enqueue bad server', 'enqueue', [...R, '--gaid', 'nohost'], 'MCL_ERR_CONFIG', /--gaid: "nohost" is not host:port/],
];
for (const [name, cmd, argv, code, message] of bad) {
  test(`usage error: ${name}`, () => {
    assert.throws(() => parseClusterCli(cmd, argv, {}), (err: Error & { code?: string }) => err.code === code && message.test(err.message));
  });
}

test('enqueue --load-late travels in the plan options (issue #18, item 7); off by default', () => {
  const late = parseClusterCli('enqueue', [...R, '--pattern', '/d/*.tsv.gz', '--load-late']);
  assert.equal(late.kind === 'enqueue' && late.options.loadLate, true);
  const plain = parseClusterCli('enqueue', [...R, '--pattern', '/d/*.tsv.gz']);
  assert.equal(plain.kind === 'enqueue' && plain.options.loadLate, false);
});

test('enqueue --log-rejected travels in the plan options, for the workers that split (issue #20); 10 by default', () => {
  const some = parseClusterCli('enqueue', [...R, '--pattern', '/d/*.tsv.gz', '--log-rejected', '3']);
  assert.equal(some.kind === 'enqueue' && some.options.logRejected, 3);
  const plain = parseClusterCli('enqueue', [...R, '--pattern', '/d/*.tsv.gz']);
  assert.equal(plain.kind === 'enqueue' && plain.options.logRejected, 10);
});

test('each subcommand help keeps every option text in one column, a long flag putting its text on the next line', () => {
  for (const cmd of ['enqueue', 'worker', 'status'] as const) {
    const lines = clusterHelp(cmd).split('\n');
    const flagLines = lines.filter((l) => /^ {2}--\w/.test(l));
    assert.ok(flagLines.length >= 3, `${cmd}: the options are listed`);
    for (const [i, l] of lines.entries()) {
      if (!flagLines.includes(l)) continue;
      const next = lines[i + 1] ?? '';
      const text = next.startsWith(' '.repeat(31)) ? next : l;
      assert.ok(text[30] === ' ' && text[31] !== undefined && text[31] !== ' ', `${cmd} misaligned: ${JSON.stringify(l)}`);
    }
  }
});
