/**
 * What the harness reads from Linux and how it runs measured children.
 *
 *   cpuTicks(pid)   utime+stime of a whole process (all its threads) from /proc/PID/stat
 *   runMeasured()   spawn `node --import rusage-hook <script>`: wall from spawn to exit, CPU
 *                   from the child's own getrusage at exit (workers included), peak RSS from
 *                   its VmHWM at exit; VmHWM also polled from /proc/PID/status as a cross-check
 *
 * Every child started here is tracked and killed on exit or signal, even when the run fails.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Clock ticks per second for /proc/PID/stat (getconf CLK_TCK; 100 on every Linux we know). */
export const CLK_TCK: number = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime from a `/proc/.../stat` file (a process's or one thread's), in clock ticks. */
function statTicks(path: string): number {
  const stat = readFileSync(path, 'latin1');
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** utime + stime of a process, in clock ticks; summed over every thread, live or exited. */
export function cpuTicks(pid: number): number {
  return statTicks(`/proc/${pid}/stat`);
}

/** utime + stime of the live threads of `pid` whose name (comm) is `name`, in clock ticks. */
export function threadCpuTicks(pid: number, name: string): number {
  let ticks = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'latin1').trim() === name) ticks += statTicks(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ticks;
}

/** The whole machine's CPU ticks from /proc/stat: busy, and idle (waiting on I/O included). */
export function machineTicks(): { busy: number; idle: number } {
  const cpu = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] as string;
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const f = cpu.trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number): number => f[i] ?? 0;
  return { busy: at(0) + at(1) + at(2) + at(5) + at(6) + at(7), idle: at(3) + at(4) };
}

/** Seconds of CPU in `ticks`. */
export function ticksToSeconds(ticks: number): number {
  return ticks / CLK_TCK;
}

/** VmHWM (peak resident set, kB) of a live process, or null once it is gone. */
export function vmHwmKb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [round2(a ?? 0), round2(b ?? 0), round2(c ?? 0)];
}

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly memcached: string;
  readonly clkTck: number;
}

export function machineInfo(memcachedBin: string): MachineInfo {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  let memcached = 'unknown';
  try {
    memcached = execFileSync(memcachedBin, ['-V'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown
  }
  return {
    cpu,
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    memcached,
    clkTck: CLK_TCK,
  };
}

// ---------------------------------------------------------------------------------------------
// Measured children

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

/** Kills every measured child still running (the harness calls it in `finally`). */
export function killChildren(): void {
  killAll();
}

export interface RunMeasuredOptions {
  /** The script node runs (a .js path), then its arguments. */
  readonly script: string;
  /** The node binary that runs it (NODES: another Node's); the harness's own by default. */
  readonly node?: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Killed (SIGKILL) after this long; the result then has `timedOut`. */
  readonly timeoutMs: number;
  /** Keep stdout (else it is discarded). */
  readonly captureStdout?: boolean;
}

export interface Measured {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** Spawn to exit, ms: node's own start-up (~40 ms) included. */
  readonly wallMs: number;
  /** user + system CPU of the whole child (main thread, workers, libuv pool), ms. */
  readonly cpuMs: number;
  readonly userMs: number;
  readonly systemMs: number;
  /** Peak RSS of the child process, kB: its VmHWM at exit (threads share one address space). */
  readonly maxRssKb: number;
  /** Where cpu/RSS came from: the exit hook, or (if the child died before it) the last poll. */
  readonly source: 'exit-hook' | 'proc-poll';
  /** Seconds the child's main thread was runnable but waited for a CPU (null off Linux). */
  readonly mainWaitS: number | null;
  /** The largest VmHWM seen by polling /proc every 50 ms (a cross-check of maxRssKb). */
  readonly polledHwmKb: number;
  readonly stdout: string;
  readonly stderr: string;
}

const HOOK = fileURLToPath(new URL('./rusage-hook.js', import.meta.url));
let seq = 0;

/** Runs `node --import rusage-hook <script> <args>` (o.node, else this process's node) and measures it. */
export function runMeasured(o: RunMeasuredOptions): Promise<Measured> {
  const out = join(tmpdir(), `memc-load-bench-rusage-${process.pid}-${++seq}.json`);
  rmSync(out, { force: true });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(o.node ?? process.execPath, ['--import', HOOK, o.script, ...o.args], {
      cwd: o.cwd,
      env: { ...(o.env ?? process.env), BENCH_RUSAGE_OUT: out },
      stdio: ['ignore', o.captureStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    live.add(child);
    const pid = child.pid;
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      // Keep the tail only: a crashing loader may print a lot.
      stderr = (stderr + s).slice(-20_000);
    });
    let polledHwm = 0;
    let lastTicks = 0;
    const poll = (): void => {
      if (pid === undefined) return;
      const hwm = vmHwmKb(pid);
      if (hwm !== null && hwm > polledHwm) polledHwm = hwm;
      try {
        lastTicks = cpuTicks(pid);
      } catch {
        // exiting
      }
    };
    const timer = setInterval(poll, 50);
    let timedOut = false;
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.once('error', (err) => {
      clearInterval(timer);
      clearTimeout(killer);
      live.delete(child);
      reject(err);
    });
    child.once('close', (exitCode, signal) => {
      const wallMs = performance.now() - t0;
      clearInterval(timer);
      clearTimeout(killer);
      live.delete(child);
      const hook = readHook(out);
      const base = { exitCode, signal, timedOut, wallMs, polledHwmKb: polledHwm, stdout, stderr };
      if (hook) {
        resolve({
          ...base,
          userMs: hook.userUs / 1000,
          systemMs: hook.systemUs / 1000,
          cpuMs: (hook.userUs + hook.systemUs) / 1000,
          // VmHWM, not ru_maxrss: Linux carries the pre-exec image's peak into ru_maxrss across
          // execve, and that image is a fork of this harness, which holds ~1 GB of frames.
          maxRssKb: hook.hwmKb ?? hook.maxRssKb,
          mainWaitS: hook.mainWaitNs === null ? null : hook.mainWaitNs / 1e9,
          source: 'exit-hook',
        });
      } else {
        const cpuMs = (lastTicks / CLK_TCK) * 1000;
        resolve({ ...base, userMs: NaN, systemMs: NaN, cpuMs, maxRssKb: polledHwm, mainWaitS: null, source: 'proc-poll' });
      }
    });
  });
}

interface HookReport {
  readonly userUs: number;
  readonly systemUs: number;
  readonly maxRssKb: number;
  readonly hwmKb: number | null;
  readonly mainWaitNs: number | null;
}

function readHook(path: string): HookReport | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as HookReport;
  } catch {
    return null;
  } finally {
    rmSync(path, { force: true });
  }
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The last line of a child's stdout that parses as JSON: its report, after whatever it printed before. */
export function lastJson<T>(stdout: string): T | null {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l) as T;
    } catch {
      // not JSON
    }
  }
  return null;
}

/** A measured child that exited badly or printed no report: its exit and the end of its stderr. */
export function childFailed(name: string, m: Measured): string {
  return `${name} child failed (exit ${m.exitCode ?? m.signal}): ${m.stderr.slice(-300)}`;
}
