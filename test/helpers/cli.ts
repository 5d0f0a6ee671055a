import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real bin in a child process, as a user would. */
export function runCli(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'bin/memc-load.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** The four server flags for a set of started servers, in idfa, gaid, adid, dvid order. */
export function serverArgs(labels: readonly string[]): string[] {
  return ['idfa', 'gaid', 'adid', 'dvid'].flatMap((t, i) => [`--${t}`, labels[i] as string]);
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Kills every bin started by startCli that is still running (for `after` hooks: a failed test leaves none behind). */
export async function stopAllCli(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves once stderr matches `pattern` (fails after timeoutMs, or if the process exits first). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** The process's end, with how long it ran. */
  readonly done: Promise<CliResult & { readonly ms: number }>;
}

/**
 * Like runCli, but returns while the bin runs, for tests that act mid-run (signals, faults).
 * The process is SIGKILLed after timeoutMs, so a hung run fails the test instead of hanging it.
 */
export function startCli(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; prefix?: readonly string[] } = {}): RunningCli {
  const started = performance.now();
  // prefix: a command that execs the rest, e.g. `ip netns exec NS` (the pid stays the bin's).
  const argv = [...(opts.prefix ?? []), process.execPath, join(repoRoot(), 'bin/memc-load.js'), ...args];
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const out: Buffer[] = [];
  let err = '';
  const watchers = new Set<() => void>();
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString('latin1');
    for (const w of [...watchers]) w();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  let exited = false;
  const done = new Promise<CliResult & { ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      for (const w of [...watchers]) w();
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: err, ms: performance.now() - started });
    });
  });
  return {
    child,
    stderr: () => err,
    done,
    waitForStderr(pattern, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(err)) {
            cleanup();
            resolve();
          } else if (exited) {
            cleanup();
            reject(new Error(`the process exited before its stderr matched ${pattern}:\n${err}`));
          }
        };
        const t = setTimeout(() => {
          cleanup();
          reject(new Error(`stderr did not match ${pattern} within ${timeoutMs} ms:\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(t);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
  };
}
