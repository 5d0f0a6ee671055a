/**
 * `--workers auto` (the default): parse inline on the main thread, and start encoder threads only
 * once they can pay (issue #19).
 *
 * Why: on the 2-core bench host `--workers 0` took ~23% less loader CPU than 2 threads, with either
 * server placement, and its wall time was never worse (docs/benchmarks.md, 2026-12-07). Threads
 * cost messages, a JIT warm-up per isolate and cache traffic; they only buy time when the main
 * thread is saturated (so parsing holds the run back) AND a core sits idle (so a thread would have
 * somewhere to run). A probe reads both every PROBE_MS; when two windows in a row show them, the
 * encoder opens a WorkerPool and sends the later chunks there. It never goes back to inline in a
 * run: the threads are warm by then, and a mode that flips to and fro is harder to reason about.
 * The Sequencer restores order by seq, so inline and thread results may interleave.
 */
import { cpus } from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { EncodeSettings } from './chunk-types.js';
import { InlineEncoder, WorkerPool, type ChunkEncoder, type ResultHandler } from './encoders.js';

/** One probe window: what the main thread and the machine did over it. */
export interface ProbeWindow {
  /** The main thread's event-loop utilisation, 0..1 (1: it never waited for I/O or a timer). */
  readonly busy: number;
  /** Cores the whole machine left idle, on average over the window (0..cores). */
  readonly idleCores: number;
}

/** The rule's thresholds; `windows` in a row must all meet them. */
export const AUTO_RULE = { busy: 0.9, idleCores: 0.75, windows: 2 } as const;
export const PROBE_MS = 400;

/**
 * Threads to start given the latest windows (oldest first), or 0 to stay inline: the last
 * `AUTO_RULE.windows` each had the main thread busy ≥ 90% and ≥ 0.75 core idle. As many threads
 * as the cores the machine left idle in the leaner of those windows, rounded, 1 at least and
 * `cores` at most.
 */
export function threadsToStart(windows: readonly ProbeWindow[], cores: number): number {
  if (windows.length < AUTO_RULE.windows) return 0;
  const last = windows.slice(-AUTO_RULE.windows);
  if (!last.every((w) => w.busy >= AUTO_RULE.busy && w.idleCores >= AUTO_RULE.idleCores)) return 0;
  const idle = Math.min(...last.map((w) => w.idleCores));
  return Math.max(1, Math.min(Math.max(1, cores), Math.round(idle)));
}

/** Reads windows from the running process: event-loop utilisation and the machine's idle CPU time. */
export function processProbe(): () => ProbeWindow {
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let idleMs = machineIdleMs();
  let at = performance.now();
  return () => {
    const nowElu = performance.eventLoopUtilization();
    const nowIdle = machineIdleMs();
    const now = performance.now();
    const busy = performance.eventLoopUtilization(nowElu, elu).utilization;
    const idleCores = now > at ? (nowIdle - idleMs) / (now - at) : 0;
    elu = nowElu;
    idleMs = nowIdle;
    at = now;
    return { busy, idleCores: Math.max(0, idleCores) };
  };
}

function machineIdleMs(): number {
  return cpus().reduce((sum, c) => sum + c.times.idle, 0);
}

/** Why threads started, for the log line and the tests. */
export interface AutoStart {
  readonly threads: number;
  /** The windows that decided it (empty when the test hook forced it). */
  readonly windows: readonly ProbeWindow[];
  readonly forced: boolean;
}

export interface AutoEncoderOptions {
  readonly cores: number;
  readonly keepThreads: boolean;
  readonly onStart: (start: AutoStart) => void;
  /** Injected in tests; the process's own readings otherwise. */
  readonly probe?: () => ProbeWindow;
  readonly intervalMs?: number;
  /** Test-only (MEMC_LOAD_TEST_AUTO_THREADS, see autoTestHook): start `threads` after `after` chunks. */
  readonly force?: { readonly after: number; readonly threads: number } | null;
}

/** Inline first; a WorkerPool once the probe (or the test hook) says so. */
export class AutoEncoder implements ChunkEncoder {
  readonly #inline: InlineEncoder;
  readonly #settings: EncodeSettings;
  readonly #onResult: ResultHandler;
  readonly #onFatal: (err: Error) => void;
  readonly #o: AutoEncoderOptions;
  readonly #windows: ProbeWindow[] = [];
  #timer: NodeJS.Timeout | null = null;
  #pool: WorkerPool | null = null;
  #threads = 0;
  #submitted = 0;
  #closed = false;

  constructor(settings: EncodeSettings, onResult: ResultHandler, onFatal: (err: Error) => void, o: AutoEncoderOptions) {
    this.#settings = settings;
    this.#onResult = onResult;
    this.#onFatal = onFatal;
    this.#o = o;
    this.#inline = new InlineEncoder(settings, onResult);
    if (o.force == null) {
      const read = o.probe ?? processProbe();
      // unref: the probe must never keep a finished run alive.
      this.#timer = setInterval(() => this.#tick(read()), o.intervalMs ?? PROBE_MS).unref();
    }
  }

  /** Encoder threads running: 0 while parsing inline. */
  get threads(): number {
    return this.#pool === null ? 0 : this.#threads;
  }

  #tick(w: ProbeWindow): void {
    this.#windows.push(w);
    if (this.#windows.length > AUTO_RULE.windows) this.#windows.shift();
    const n = threadsToStart(this.#windows, this.#o.cores);
    if (n > 0) this.#start({ threads: n, windows: [...this.#windows], forced: false });
  }

  #start(start: AutoStart): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#pool !== null || this.#closed) return;
    this.#pool = WorkerPool.open(start.threads, this.#settings, this.#onResult, this.#onFatal, this.#o.keepThreads);
    this.#threads = start.threads;
    this.#o.onStart(start);
  }

  /** Inline until the pool starts; the test hook starts it in the submit after its count. */
  inPlace(): boolean {
    return this.#pool === null && !this.#forceDue();
  }

  #forceDue(): boolean {
    const force = this.#o.force;
    return force != null && this.#pool === null && this.#submitted >= force.after;
  }

  submit(seq: number, buf: Uint8Array, sample = true): void {
    const force = this.#o.force;
    if (force != null && this.#forceDue()) this.#start({ threads: force.threads, windows: [], forced: true });
    this.#submitted++;
    if (this.#pool === null) this.#inline.submit(seq, buf, sample);
    else this.#pool.submit(seq, buf, sample);
  }

  recycle(frames: ArrayBuffer): void {
    // Either side's buffers fit the other's pool: frames are plain ArrayBuffers of a minimum size.
    if (this.#pool === null) this.#inline.recycle(frames);
    else this.#pool.recycle(frames);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#pool?.close();
  }
}

/**
 * Test-only: MEMC_LOAD_TEST_AUTO_THREADS=AFTER:THREADS makes `--workers auto` start THREADS
 * threads once AFTER chunks went inline, whatever the probe reads, so a test can switch mid-file
 * deterministically. Not an option: operators choose `--workers N` instead.
 */
export function autoTestHook(env: NodeJS.ProcessEnv = process.env): { after: number; threads: number } | null {
  const v = env.MEMC_LOAD_TEST_AUTO_THREADS;
  const m = v === undefined ? null : /^(\d+):(\d+)$/.exec(v);
  if (m === null) return null;
  return { after: Number(m[1]), threads: Math.max(1, Number(m[2])) };
}
