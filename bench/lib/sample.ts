/**
 * One timed run reduced to a Sample, the machine watched around it (Monitor), and several runs of
 * one configuration reduced to their median (pickMedian).
 */
import { loadAverage, machineTicks, ticksToSeconds, type Measured } from './proc.js';
import type { Servers } from './servers.js';
import type { Used } from './nodes.js';
import type { Check } from './verify.js';

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** One timed configuration's runs reduced to a row (median wall and median CPU; RSS and the rest from the median-wall run). */
export interface Sample {
  readonly wallS: number;
  readonly cpuS: number | null;
  readonly serverCpuS: number | null;
  /** The part of serverCpuS spent by memcached's LRU maintainer threads. */
  readonly serverLruCpuS: number | null;
  readonly peakRssMb: number | null;
  readonly check: Check | null;
  readonly problems: readonly string[];
  readonly load1: number;
  /** Cores' worth of CPU other processes used during the run. */
  readonly othersCores: number;
  /** CPU seconds the machine's cores sat idle during the run (all cores together). */
  readonly idleCoreS: number;
  /** Seconds the measured child's main thread was runnable but waited for a CPU. */
  readonly mainWaitS: number | null;
  /** What the loader said it inflated and encoded with (its log); absent for other children. */
  readonly used?: Used;
}

/**
 * Around one timed run: the servers' CPU, and how much CPU the rest of the machine (other
 * people's work) took meanwhile — machine busy time from /proc/stat, less the measured child,
 * the servers and this harness.
 */
export class Monitor {
  readonly load1 = loadAverage()[0];
  readonly #servers: Servers;
  readonly #server0: number;
  readonly #lru0: number;
  readonly #ticks0 = machineTicks();
  readonly #self0 = process.cpuUsage();
  readonly #t0 = performance.now();

  constructor(servers: Servers) {
    this.#servers = servers;
    this.#server0 = servers.cpuTicks();
    this.#lru0 = servers.lruMaintainerTicks();
  }

  /** Call right after the run, with the measured child's CPU seconds (0 when there is none). */
  end(childCpuS: number): Around {
    const serverCpuS = ticksToSeconds(this.#servers.cpuTicks() - this.#server0);
    const serverLruCpuS = ticksToSeconds(this.#servers.lruMaintainerTicks() - this.#lru0);
    const ticks = machineTicks();
    const busyS = ticksToSeconds(ticks.busy - this.#ticks0.busy);
    const self = process.cpuUsage(this.#self0);
    const wallS = (performance.now() - this.#t0) / 1000;
    const others = busyS - serverCpuS - childCpuS - (self.user + self.system) / 1e6;
    const idleCoreS = ticksToSeconds(ticks.idle - this.#ticks0.idle);
    return { serverCpuS, serverLruCpuS, othersCores: Math.max(0, others) / wallS, idleCoreS, load1: this.load1 };
  }
}

export interface Around {
  readonly serverCpuS: number;
  readonly serverLruCpuS: number | null;
  readonly othersCores: number;
  readonly idleCoreS: number;
  readonly load1: number;
}

/** A measured child's figures beside the servers' CPU and the rest of the machine's load. */
export function measuredSample(m: Measured, around: Around, check: Check | null, problems: readonly string[], used?: Used): Sample {
  return {
    ...(used ? { used } : {}),
    wallS: m.wallMs / 1000,
    cpuS: m.cpuMs / 1000,
    serverCpuS: around.serverCpuS,
    serverLruCpuS: around.serverLruCpuS,
    peakRssMb: m.maxRssKb / 1024,
    check,
    problems,
    load1: around.load1,
    othersCores: around.othersCores,
    idleCoreS: around.idleCoreS,
    mainWaitS: m.mainWaitS,
  };
}

/**
 * Several runs of one configuration: the median run (its wall the median), the range, all their
 * problems and notes. The CPU is the runs' own median, not the median-wall run's: a CPU target
 * (lines per loader CPU-second) is judged on it, and a run's CPU and wall do not move together on
 * a shared machine (a run that waited for a core is slow but not costly).
 */
export interface Picked {
  readonly best: Sample;
  readonly range: [number, number] | null;
  readonly problems: string[];
  readonly notes: string[];
}

export function pickMedian(samples: readonly Sample[]): Picked {
  const walls = samples.map((s) => s.wallS);
  const m = median(walls);
  const best = samples.reduce((a, s) => (Math.abs(s.wallS - m) < Math.abs(a.wallS - m) ? s : a));
  // Each run's messages, prefixed with the run they came from when there were several.
  const ofEveryRun = (of: (s: Sample) => readonly string[]): string[] =>
    samples.flatMap((s, i) => of(s).map((p) => (samples.length > 1 ? `run ${i + 1}: ${p}` : p)));
  const problems = ofEveryRun((s) => s.problems);
  const notes = ofEveryRun((s) => s.check?.notes ?? []);
  const cpus = samples.map((s) => s.cpuS);
  const cpuS = cpus.every((c): c is number => c !== null) ? median(cpus) : best.cpuS;
  return { best: { ...best, wallS: m, cpuS }, range: samples.length > 1 ? [Math.min(...walls), Math.max(...walls)] : null, problems, notes };
}
