#!/usr/bin/env node
// Makes a fresh clone runnable: `npm test`, `npm run bench` and the demo call this first.
// Plain Node, no dependencies: it runs before `npm ci` may have happened.
//   1. node_modules missing or older than package-lock.json → `npm ci`
//   2. no `memcached` on PATH → apt-get install it (root on Debian), or say how and exit 1
//   3. with --tests: the tools some tests need (tc, unshare, pylibmc, redis-server, prometheus), installed the
//      same way where we can, else named (those tests skip and say why); --redis: redis-server only
// It never starts memcached: test suites start their own instances on free ports.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stderr.write(`ensure-setup: ${msg}\n`);

function run(cmd, args, options = {}) {
  // npm is npm.cmd on Windows, which only a shell can run.
  const result = spawnSync(cmd, args, { cwd: root, shell: process.platform === 'win32', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    say(`\`${[cmd, ...args].join(' ')}\` failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function onPath(name) {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      try {
        accessSync(join(dir, name + ext), constants.X_OK);
        return join(dir, name + ext);
      } catch {
        // not in this folder
      }
    }
  }
  return undefined;
}

function ensureNodeModules() {
  const lock = mtime(join(root, 'package-lock.json'));
  // npm rewrites node_modules/.package-lock.json on every install: the time of the last one.
  const installed = mtime(join(root, 'node_modules', '.package-lock.json')) ?? mtime(join(root, 'node_modules'));
  if (installed !== undefined && (lock === undefined || installed >= lock)) return;
  if (lock === undefined) {
    say('no package-lock.json: running npm install');
    run('npm', ['install'], { stdio: 'inherit' });
  } else {
    say(installed === undefined ? 'node_modules missing: running npm ci' : 'package-lock.json changed: running npm ci');
    run('npm', ['ci'], { stdio: 'inherit' });
  }
}

/** The cluster tests and `npm run demo:cluster` start their own Redis. */
const REDIS = { pkg: 'redis-server', present: () => existsSync('/usr/bin/redis-server') || process.env.REDIS_BIN !== undefined };

/** What the test suite needs beyond memcached: each a check, and the Debian package that satisfies it. */
const TEST_TOOLS = [
  // The partition test blackholes loopback in a namespace of its own.
  { pkg: 'iproute2', present: () => onPath('tc') !== undefined },
  { pkg: 'util-linux', present: () => onPath('unshare') !== undefined },
  // The pool tests' independent reader: Debian's python3 with libmemcached's pylibmc.
  { pkg: 'python3-pylibmc', present: () => spawnSync('/usr/bin/python3', ['-c', 'import pylibmc']).status === 0 },
  REDIS,
  // The alert rules' and dashboard's tests (promtool), and the Prometheus the alert test runs.
  { pkg: 'prometheus', present: () => existsSync('/usr/bin/prometheus') && existsSync('/usr/bin/promtool') },
];

/**
 * memcached is required: without it nothing runs, so a missing one stops here with what to do.
 * With --tests, the tools some tests need are installed too where we can (root with apt-get);
 * elsewhere those tests skip and say why, so their absence is only a note here.
 */
function ensurePackages(tools) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const canInstall = isRoot && onPath('apt-get') !== undefined;
  const needMemcached = onPath('memcached') === undefined;
  const missingTools = tools.filter((t) => !t.present()).map((t) => t.pkg);
  if (needMemcached && !canInstall) {
    say('memcached (>= 1.6) is not on PATH; the test suites and benchmarks start their own instances.');
    say('Install it, e.g. on Debian/Ubuntu:  sudo apt-get install -y memcached');
    say('(on macOS: brew install memcached), then run this again.');
    process.exit(1);
  }
  if (!canInstall) {
    if (missingTools.length > 0) say(`not installed: ${missingTools.join(', ')} (sudo apt-get install -y ${missingTools.join(' ')}); the tests that need them will skip and say so`);
    return;
  }
  const packages = [...(needMemcached ? ['memcached'] : []), ...missingTools];
  if (packages.length === 0) return;
  say(`installing ${packages.join(', ')} with apt-get`);
  // Debian starts a package's service on install unless policy-rc.d forbids it (exit 101);
  // we only want the binaries, so forbid it for the duration, as Docker images do.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const quiet = { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    run('apt-get', ['update', '-q'], quiet);
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], quiet);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
  const memcached = onPath('memcached');
  const still = [...(memcached === undefined ? ['memcached'] : []), ...tools.filter((t) => !t.present()).map((t) => t.pkg)];
  if (still.length > 0) {
    say(`apt-get installed ${still.join(', ')}, but not where the tests look for them`);
    process.exit(1);
  }
  if (needMemcached) say(`installed ${memcached}`);
}

ensureNodeModules();
ensurePackages(process.argv.includes('--tests') ? TEST_TOOLS : process.argv.includes('--redis') ? [REDIS] : []);
