/**
 * The rig every timed run stands on: the four memcached servers, the main data set and its
 * pre-rendered frames (to warm the servers), the scratch folders the loader renames in, and the
 * one way the real bin is run and judged (runBin, loaderProblems).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, link, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../test/helpers/paths.js';
import { CACHE_DIR, dataFiles, type Dataset } from './dataset.js';
import type { Expectation } from './expect.js';
import { log } from './log.js';
import { usedFromLog, type Used } from './nodes.js';
import { MiB } from './report.js';
import { killChildren, runMeasured, type Measured } from './proc.js';
import { measuredSample, Monitor, type Around, type Sample } from './sample.js';
import { Servers, loadFrames, warm, type Counters } from './servers.js';
import type { Settings } from './settings.js';
import { verify } from './verify.js';

export const ROOT = repoRoot();
/** The compiled bench/ (children run from there). */
export const DIST = join(ROOT, 'dist', 'bench');
export const BIN = join(ROOT, 'bin', 'memc-load.js');

/** How the bin is run: another build's bin (bench:compare), another node binary (NODES). */
export interface BinRun {
  readonly bin?: string;
  readonly node?: string;
}

export class Rig {
  readonly s: Settings;
  readonly servers: Servers;
  readonly main: Dataset;
  readonly ms: Buffer[];
  readonly md: Buffer[];
  readonly scratchRoot: string;
  #scratchSeq = 0;

  private constructor(s: Settings, servers: Servers, main: Dataset, ms: Buffer[], md: Buffer[]) {
    this.s = s;
    this.servers = servers;
    this.main = main;
    this.ms = ms;
    this.md = md;
    this.scratchRoot = join(CACHE_DIR, `scratch-${process.pid}`);
  }

  /** Starts the servers, with memory for the largest data set, and loads the main set's frames. */
  static async start(s: Settings, main: Dataset, scales: readonly Dataset[]): Promise<Rig> {
    const maxRaw = Math.max(main.gen.bytes, ...scales.map((d) => d.gen.bytes));
    // Items take about their line's size (key + protobuf value + ~50 bytes of header); twice the raw
    // size split over four servers leaves room for slab rounding: no eviction may happen.
    const memoryMb = Math.max(1024, Math.ceil((2 * maxRaw) / 4 / MiB));
    log(`starting 4 × memcached -t 1 -m ${memoryMb}`);
    const servers = await Servers.start(memoryMb);
    const [ms, md] = await Promise.all([loadFrames(main.frames?.ms ?? []), loadFrames(main.frames?.md ?? [])]);
    return new Rig(s, servers, main, ms, md);
  }

  /** The servers, the children, the scratch folders: gone, even after a failed run. */
  async stop(): Promise<void> {
    await this.servers.stop();
    killChildren();
    await rm(this.scratchRoot, { recursive: true, force: true });
  }

  /**
   * Fresh servers, warmed (every main record in, every key deleted), ready for a timed run: their
   * counters. `ms`/`md`: one buffer per server of `servers` (split by node for pools).
   */
  async freshServers(servers = this.servers, ms = this.ms, md = this.md): Promise<Counters> {
    await servers.restart();
    if (this.s.warm) await warm(servers, ms, md);
    return servers.counters();
  }

  /** The clock of a timed run, started once the machine is as quiet as it gets (waitQuiet). */
  async startWatch(servers = this.servers): Promise<Monitor> {
    await this.waitQuiet(servers);
    return new Monitor(servers);
  }

  /** The data set's files, hard-linked (or copied) into a new folder the loader may rename in. */
  async scratch(ds: Dataset): Promise<string> {
    const dir = join(this.scratchRoot, `run-${++this.#scratchSeq}`);
    await mkdir(dir, { recursive: true });
    for (const f of dataFiles(ds)) {
      const to = join(dir, f.slice(f.lastIndexOf('/') + 1));
      try {
        await link(f, to);
      } catch {
        await copyFile(f, to);
      }
    }
    return dir;
  }

  /**
   * With WAIT_QUIET_S: waits (up to that long) until other processes use less than QUIET_CORES
   * cores over a 1 s sample, so runs start on as quiet a machine as it gets.
   */
  async waitQuiet(servers = this.servers): Promise<void> {
    if (this.s.waitQuietMs <= 0) return;
    const deadline = performance.now() + this.s.waitQuietMs;
    let others = Infinity;
    while (performance.now() < deadline) {
      const mon = new Monitor(servers);
      await sleep(1000);
      others = mon.end(0).othersCores;
      if (others < this.s.quietCores) return;
    }
    log(`  the machine stayed busy (${others.toFixed(2)} cores used by others): measuring anyway`);
  }

  /**
   * One timed run of the real bin on `ds` with `args`, then the check; into `on` (other servers,
   * such as pools, with their warming frames) instead of the rig's four. `how.bin`: another
   * build's bin/memc-load.js (bench/before-after.ts), judged by this harness's checks;
   * `how.node`: another node binary to run it (NODES).
   */
  async loader(ds: Dataset, args: readonly string[], on?: { servers: Servers; ms: Buffer[]; md: Buffer[] }, how: BinRun = {}): Promise<Sample> {
    const servers = on?.servers ?? this.servers;
    const before = await this.freshServers(servers, on?.ms, on?.md);
    const { m, around, problems, used } = await this.runBin(ds, servers.cliArgs(), args, () => 0, servers, how);
    const check = await verify(servers, ds.expect, before, problems);
    return measuredSample(m, around, check, check.problems, used);
  }

  /**
   * The real bin on a scratch copy of `ds`, with `serverArgs` and `args`, timed: its figures, the
   * machine around it (`otherCpuS`: CPU of other measured processes, such as the null sinks, kept
   * out of *others*), and what its exit, log and renames say went wrong.
   */
  async runBin(
    ds: Dataset,
    serverArgs: readonly string[],
    args: readonly string[],
    otherCpuS: () => number = () => 0,
    servers = this.servers,
    how: BinRun = {},
  ): Promise<{ m: Measured; around: Around; problems: string[]; used: Used }> {
    const dir = await this.scratch(ds);
    const logFile = join(dir, 'memc-load.log');
    try {
      const mon = await this.startWatch(servers);
      const m = await runMeasured({
        script: how.bin ?? BIN,
        ...(how.node ? { node: how.node } : {}),
        args: ['--pattern', join(dir, '*.tsv.gz'), ...serverArgs, '--log', logFile, ...this.s.loaderArgs, ...args],
        timeoutMs: this.s.timeoutMs,
      });
      const around = mon.end(m.cpuMs / 1000 + otherCpuS());
      const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      return { m, around, problems: loaderProblems(m, ds.expect, dir, text), used: usedFromLog(text) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** What the loader itself says went wrong: exit status, its Done line, the renames. */
function loaderProblems(m: Measured, expect: Expectation, dir: string, text: string): string[] {
  const problems: string[] = [];
  if (m.timedOut) problems.push(`killed after the ${m.wallMs.toFixed(0)} ms time limit`);
  if (m.exitCode !== 0) problems.push(`exit status ${m.exitCode ?? m.signal}${m.stderr ? `: ${m.stderr.trim().slice(-300)}` : ''}`);
  if (m.source !== 'exit-hook') problems.push('no exit report from the child: CPU and RSS from /proc polling (lower bounds)');
  const done = /Done: .*?lines=(\d+) loaded=(\d+) rejected=(\d+) failed_writes=(\d+)/.exec(text);
  if (!done) {
    problems.push(`no "Done:" line in the loader's log${text ? `; it ends: ${text.trim().split('\n').slice(-2).join(' / ').slice(0, 300)}` : ''}`);
  } else {
    const [lines, loaded, rejected, failed] = done.slice(1).map(Number) as [number, number, number, number];
    const wantRejected = Object.values(expect.rejected).reduce((a, n) => a + n, 0);
    if (lines !== expect.lines) problems.push(`loader counted ${lines} lines, the data has ${expect.lines}`);
    if (loaded !== expect.records) problems.push(`loader loaded ${loaded} records, the data has ${expect.records}`);
    if (rejected !== wantRejected) problems.push(`loader rejected ${rejected} lines, the oracle ${wantRejected}`);
    if (failed !== 0) problems.push(`${failed} failed writes`);
  }
  const pending = readdirSync(dir).filter((n) => n.endsWith('.tsv.gz') && !n.startsWith('.'));
  if (pending.length > 0) problems.push(`${pending.length} file(s) not marked done: ${pending.join(', ')}`);
  return problems;
}

/** Scratch folders of earlier runs that were killed (their pid is gone): hard links, cheap to drop. */
export async function removeStaleScratch(): Promise<void> {
  if (!existsSync(CACHE_DIR)) return;
  for (const name of readdirSync(CACHE_DIR)) {
    const m = /^scratch-(\d+)$/.exec(name);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    await rm(join(CACHE_DIR, name), { recursive: true, force: true });
  }
}
