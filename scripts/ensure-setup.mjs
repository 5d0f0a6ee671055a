#!/usr/bin/env node
// Makes a fresh clone runnable: `npm test`, `npm run bench` and the demo call this first.
// Plain Node, no dependencies: it runs before `npm ci` may have happened.
//   1. node_modules missing or older than package-lock.json → `npm ci`
//   2. no `memcached` on PATH → apt-get install it (root on Debian), or say how and exit 1
//   3. no /usr/bin/redis-server → the same, but only a message when it cannot (the cluster tests skip)
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

/**
 * A Debian package's binary: present, or installed with apt-get (as root), or a message saying
 * how and exit 1 (`optional`: a message only; the suites that need it skip, and say so).
 */
function ensurePackage(pkg, found, why, optional = false) {
  if (found()) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !onPath('apt-get')) {
    say(`${pkg} is not installed; ${why}.`);
    say(`Install it, e.g. on Debian/Ubuntu:  sudo apt-get install -y ${pkg}`);
    if (optional) return;
    say(`(on macOS: brew install ${pkg}), then run this again.`);
    process.exit(1);
  }
  say(`${pkg} not found: installing it with apt-get`);
  // Debian starts a package's service on install unless policy-rc.d forbids it (exit 101);
  // we only want the binary, so forbid it for the duration, as Docker images do.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const quiet = { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    run('apt-get', ['update', '-q'], quiet);
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], quiet);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
  if (!found()) {
    say(`apt-get installed ${pkg}, but it is still not where the tests look for it`);
    process.exit(1);
  }
  say(`installed ${pkg}`);
}

ensureNodeModules();
ensurePackage('memcached', () => onPath('memcached'), 'memcached (>= 1.6) must be on PATH: the test suites and benchmarks start their own instances');
// The cluster tests (test/integration/queue/) and `npm run demo:cluster` start their own Redis;
// without it they skip and say so (under CI they fail: .ci/run installs it).
ensurePackage('redis-server', () => existsSync('/usr/bin/redis-server') || process.env.REDIS_BIN, 'the cluster tests need /usr/bin/redis-server (or REDIS_BIN) and skip without it', true);
