/**
 * Real memcached processes for integration tests: each on a free loopback port, ready once it
 * answers (`stats`, whose pid must be its own), stopped by PID. Every process started here is
 * tracked, so `stopAll()` in an `after` hook (or the exit/signal fallback) leaves nothing
 * running, even when a test fails.
 *
 *   const servers = await startServers(2, { memoryMb: 16 });
 *   after(stopAll);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerAddress } from '../../src/config/servers.js';
import { stats } from '../../src/memcached/admin.js';
import { stopTracked } from './child-exit.js';
import { freePort } from './ports.js';

export { freePort };

export const MEMCACHED_BIN = process.env['MEMCACHED_BIN'] ?? '/usr/bin/memcached';

export interface MemcachedOptions {
  /** -m: memory for items, MB. Default 64. */
  readonly memoryMb?: number;
  /** -t: worker threads. Default 1. */
  readonly threads?: number;
  /** Extra arguments, e.g. ['-I', '2m']. */
  readonly args?: readonly string[];
  /** How long to wait for `version` to answer. Default 5000 ms. */
  readonly readyTimeoutMs?: number;
  /** -l: the address to listen on, e.g. '::1'. Default 127.0.0.1. */
  readonly host?: string;
  /** A network namespace to run in (`ip netns exec`, which execs: the pid is memcached's). */
  readonly netns?: string;
}

export interface MemcachedHandle {
  /** Current PID (changes on restart). */
  readonly pid: number;
  readonly port: number;
  readonly address: ServerAddress;
  /** SIGCONT + SIGKILL, then waits for the exit. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL alone: a paused server dies without running again (stop() lets it run for a moment). */
  kill(): Promise<void>;
  /** SIGSTOP: the process freezes; the kernel still accepts connections into the backlog. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stop, then start again on the same port (empty cache) and wait until ready. */
  restart(): Promise<void>;
}

const live = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of live) killNow(child);
});
// 'exit' does not run when the test process is killed by a signal: clean up, then die of it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of live) killNow(child);
    process.kill(process.pid, signal);
  });
}

/**
 * An address where a connection is refused, and stays refused: a free port on 127.0.0.2. The
 * servers these tests start listen on 127.0.0.1 only, so even when one of them is later given
 * the same port (tests run in parallel, and the kernel reuses ports), it does not answer here.
 */
export async function refusedAddress(): Promise<ServerAddress> {
  const port = await freePort();
  return { host: '127.0.0.2', port, label: `127.0.0.2:${port}` };
}

/**
 * A loopback address of its own (in 127.0.0.0/8, never 127.0.0.1), for servers a test stops and
 * starts again on their port. While one is down its port is free, and a test in another process
 * may be given it by freePort() and start a server there: on 127.0.0.1, so never at this address.
 * (On 127.0.0.1, the watch test's loader once wrote into the signal test's server that way, and
 * both failed in CI.)
 */
export function ownLoopback(): string {
  const n = (max: number) => 1 + Math.floor(Math.random() * max);
  return `127.${n(254)}.${n(254)}.${n(253) + 1}`;
}

export async function startMemcached(opts: MemcachedOptions = {}): Promise<MemcachedHandle> {
  if (!existsSync(MEMCACHED_BIN)) {
    throw new Error(`memcached not found at ${MEMCACHED_BIN}: install memcached: apt-get install -y memcached`);
  }
  let lastErr: unknown;
  // Another process may take the port between freePort() and memcached's bind: try new ones.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      const child = await launch(port, opts);
      return makeHandle(child, port, opts);
    } catch (err) {
      lastErr = err;
    }
  }
  throw new Error('could not start memcached on a free port', { cause: lastErr });
}

/** Starts `n` servers; if one fails, the others are stopped before rethrowing. */
export async function startServers(n: number, opts: MemcachedOptions = {}): Promise<MemcachedHandle[]> {
  const results = await Promise.allSettled(Array.from({ length: n }, () => startMemcached(opts)));
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((h) => h.stop()));
    throw failed.reason;
  }
  return ok;
}

/** Runs `fn` with `n` fresh servers, then stops them, whether `fn` returned or threw. */
export async function withServers<T>(n: number, fn: (servers: MemcachedHandle[]) => Promise<T>, opts: MemcachedOptions = {}): Promise<T> {
  const servers = await startServers(n, opts);
  try {
    return await fn(servers);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Stops every memcached this module started and that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child)));
}

/** The address of a server started with `opts`: IPv6 in brackets, as the flags take it. */
function addressOf(port: number, opts: MemcachedOptions): ServerAddress {
  const host = opts.host ?? '127.0.0.1';
  return { host, port, label: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

function makeHandle(first: ChildProcess, port: number, opts: MemcachedOptions): MemcachedHandle {
  let child = first;
  const address = addressOf(port, opts);
  return {
    get pid() {
      return child.pid as number;
    },
    port,
    address,
    stop: () => stopChild(child),
    kill: () => stopTracked(child, live, (c) => c.kill('SIGKILL')),
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async restart() {
      await stopChild(child);
      let lastErr: unknown;
      // The old socket is gone with the process (memcached sets SO_REUSEADDR); retry briefly anyway.
      for (let attempt = 0; attempt < 10; attempt++) {
        try {
          child = await launch(port, opts);
          return;
        } catch (err) {
          lastErr = err;
          await sleep(50);
        }
      }
      throw new Error(`could not restart memcached on port ${port}`, { cause: lastErr });
    },
  };
}

async function launch(port: number, opts: MemcachedOptions): Promise<ChildProcess> {
  const host = opts.host ?? '127.0.0.1';
  const args = ['-l', host.includes(':') ? `[${host}]` : host, '-p', String(port), '-U', '0', '-m', String(opts.memoryMb ?? 64), '-t', String(opts.threads ?? 1)];
  // memcached refuses to run as root without -u.
  if (process.getuid?.() === 0) args.push('-u', 'root');
  args.push(...(opts.args ?? []));
  const argv = opts.netns === undefined ? [MEMCACHED_BIN, ...args] : ['ip', 'netns', 'exec', opts.netns, MEMCACHED_BIN, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let exited: string | null = null;
  let spawnError: Error | null = null;
  child.once('error', (err) => (spawnError = err));
  child.once('exit', (code, signal) => {
    live.delete(child);
    exited = `exited with ${signal ?? code}`;
  });
  const address = addressOf(port, opts);
  const deadline = performance.now() + (opts.readyTimeoutMs ?? 5000);
  let lastErr: unknown;
  while (performance.now() < deadline) {
    if (spawnError !== null || exited !== null) {
      throw new Error(`memcached ${args.join(' ')} ${exited ?? 'failed to spawn'}: ${stderr.trim()}`, { cause: spawnError ?? undefined });
    }
    try {
      // Checking the pid, not just that something answers: two concurrent starts can be handed
      // the same free port, and the loser must not mistake the winner for itself.
      const pid = (await stats(address, 250))['pid'];
      if (pid === String(child.pid)) return child;
      lastErr = new Error(`port ${port} is served by pid ${pid}, not ours (${child.pid})`);
      await sleep(20);
    } catch (err) {
      lastErr = err;
      await sleep(20);
    }
  }
  await stopChild(child);
  throw new Error(`memcached on ${address.label} did not answer in time: ${stderr.trim()}`, { cause: lastErr });
}

function killNow(child: ChildProcess): void {
  try {
    child.kill('SIGCONT'); // a SIGSTOPped process still dies on SIGKILL, but let it unfreeze first
    child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return stopTracked(child, live, killNow);
}
