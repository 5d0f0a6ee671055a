/**
 * Real redis-server processes for the cluster tests, as memcached.ts does for memcached: each on
 * a free loopback port, with AOF on and `noeviction` (what docs/cluster.md asks of production),
 * ready once it answers PING, stopped by PID. Every process started here is tracked, so
 * `stopAllRedis()` in an `after` hook leaves nothing running, even when a test fails.
 *
 *   const redis = await startRedis();
 *   after(stopAllRedis);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopTracked } from './child-exit.js';
import { freePort } from './memcached.js';

export const REDIS_BIN = process.env['REDIS_BIN'] ?? '/usr/bin/redis-server';

export interface RedisOptions {
  /** maxmemory-policy; default noeviction (the only one memc-load accepts). */
  readonly policy?: string;
  readonly readyTimeoutMs?: number;
  /** --bind: default 127.0.0.1. */
  readonly host?: string;
  /** A network namespace to run in (`ip netns exec`, which execs: the pid is redis-server's). */
  readonly netns?: string;
}

export interface RedisHandle {
  readonly pid: number;
  readonly port: number;
  /** redis://HOST:PORT */
  readonly url: string;
  /** SIGKILL, wait for the exit. Idempotent. */
  stop(): Promise<void>;
  /**
   * SIGTERM (Redis flushes its AOF and exits), then start again on the same port and data
   * folder, and wait until it answers: what an operator's `systemctl restart redis` does.
   * `downMs`: stay down that long first (a slow restart, a loaded host). `whileDown` runs once
   * Redis has exited, before it starts again: a fault test's proof of when the restart struck.
   */
  restart(downMs?: number, whileDown?: () => void): Promise<void>;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Why redis-server cannot run here, or false; under CI a missing one is a failure, not a skip. */
export function redisMissing(): string | false {
  if (existsSync(REDIS_BIN) || process.env['CI']) return false;
  return `redis-server not found at ${REDIS_BIN} (apt-get install -y redis-server)`;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  if (!existsSync(REDIS_BIN)) throw new Error(`redis-server not found at ${REDIS_BIN}: apt-get install -y redis-server`);
  const dir = mkdtempSync(join(tmpdir(), 'memc-redis-'));
  dirs.add(dir);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      let child = await launch(port, dir, opts);
      return {
        get pid() {
          return child.pid as number;
        },
        port,
        url: `redis://${opts.host ?? '127.0.0.1'}:${port}`,
        stop: () => stopChild(child, 'SIGKILL'),
        async restart(downMs = 0, whileDown) {
          await stopChild(child, 'SIGTERM');
          whileDown?.();
          await sleep(downMs);
          child = await launch(port, dir, opts);
        },
      };
    } catch (err) {
      lastErr = err;
    }
  }
  throw new Error('could not start redis-server on a free port', { cause: lastErr });
}

export async function stopAllRedis(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c, 'SIGKILL')));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

async function launch(port: number, dir: string, opts: RedisOptions): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', opts.host ?? '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir,
    '--maxmemory-policy', opts.policy ?? 'noeviction', '--protected-mode', 'no', '--daemonize', 'no', '--logfile', '',
  ];
  const argv = opts.netns === undefined ? [REDIS_BIN, ...args] : ['ip', 'netns', 'exec', opts.netns, REDIS_BIN, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    live.delete(child);
    exited = `exited with ${signal ?? code}`;
  });
  const deadline = performance.now() + (opts.readyTimeoutMs ?? 5000);
  while (performance.now() < deadline) {
    if (exited !== null) throw new Error(`redis-server ${args.join(' ')} ${exited}: ${output.trim().slice(-500)}`);
    // The pid check, as for memcached: a concurrent start may have been handed the same port.
    if ((await infoPid(opts.host ?? '127.0.0.1', port)) === child.pid) return child;
    await sleep(20);
  }
  await stopChild(child, 'SIGKILL');
  throw new Error(`redis-server on ${opts.host ?? '127.0.0.1'}:${port} did not answer in time: ${output.trim().slice(-500)}`);
}

/** The pid `INFO server` reports, or null (not up yet, or still loading its AOF). */
function infoPid(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    let text = '';
    const done = (v: number | null) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(500, () => done(null));
    sock.on('error', () => done(null));
    sock.on('data', (b) => {
      text += b.toString('latin1');
      if (text.startsWith('-')) return done(null);
      const m = /process_id:(\d+)/.exec(text);
      if (m) done(Number(m[1]));
    });
    sock.on('connect', () => sock.write('INFO server\r\n'));
  });
}

function stopChild(child: ChildProcess, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  return stopTracked(child, live, (c) => c.kill(signal));
}
