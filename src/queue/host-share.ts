/**
 * How many encoder threads a split gets on this host (issue #19 item 4).
 *
 * The plan's `--workers` is the enqueueing host's cores: right for the rule of one worker
 * process per host, each split then has the host to itself. Several worker processes on one host
 * (a test rig, the bench, a host given two by mistake) each started that many threads: 2 × 2
 * isolates on 2 cores, each warming its own JIT and fed by messages, for no more throughput than
 * the cores give. So a split takes its share of the host's cores: cores ÷ (worker processes here ×
 * splits each runs at once), at most the plan's `--workers`; a share of one core or less parses
 * inline on the split's own thread, which costs the least CPU per line (the single host's
 * `--workers 0` row: 0.76 × the default's CPU).
 *
 * The worker processes of a host are counted by a file per process in a folder of the host's temp
 * directory: made at start, removed at stop; one whose process is gone (SIGKILL) is not counted
 * and is removed by the next count. Only the thread count depends on it: never what is loaded.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../logfile/folder-lock.js';

/**
 * Encoder threads for one split: 0 (inline) when its share of the cores is one or less. The plan's
 * `auto`, on a host the split has to itself (one process, one split at a time: the production
 * rule), stays `auto`: inline until threads pay, at most the cores (pipeline/auto-threads.ts), as
 * the single host runs by default; a smaller share is that many threads from the start.
 */
export function splitThreads(planWorkers: number | 'auto', cores: number, processes: number, concurrency: number): number | 'auto' {
  const share = Math.floor(cores / (Math.max(1, processes) * Math.max(1, concurrency)));
  if (share <= 1) return 0;
  if (planWorkers === 'auto') return share >= cores ? 'auto' : share;
  return Math.min(planWorkers, share);
}

export class HostShare {
  readonly #dir: string;
  readonly #pid: number;
  #registered = false;

  /** `dir`: the folder of this host's worker processes (a test gives its own). */
  constructor(dir: string = defaultDir(), pid: number = process.pid) {
    this.#dir = dir;
    this.#pid = pid;
  }

  /** Counts this process from now on; a folder that cannot be written only leaves it uncounted. */
  register(): void {
    try {
      mkdirSync(this.#dir, { recursive: true });
      writeFileSync(join(this.#dir, String(this.#pid)), `${new Date().toISOString()}\n`);
      this.#registered = true;
    } catch {
      // Counted as one process alone: the plan's --workers, as before this file.
    }
  }

  unregister(): void {
    if (!this.#registered) return;
    this.#registered = false;
    rmSync(join(this.#dir, String(this.#pid)), { force: true });
  }

  /** Worker processes alive on this host, this one included (at least 1). */
  processes(): number {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return 1;
    }
    let alive = 0;
    for (const name of names) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      if (pid === this.#pid || pidAlive(pid)) alive++;
      else rmSync(join(this.#dir, name), { force: true });
    }
    return Math.max(1, alive + (this.#registered ? 0 : 1));
  }

  /** Threads for a split of a plan with `planWorkers`, this process running `concurrency` splits at once. */
  threads(planWorkers: number | 'auto', concurrency: number, cores: number = availableParallelism()): number | 'auto' {
    return splitThreads(planWorkers, cores, this.processes(), concurrency);
  }
}

function defaultDir(): string {
  // Per user: a file in another user's folder could be neither made nor removed.
  return join(tmpdir(), `memc-load-workers-${process.getuid?.() ?? 'user'}`);
}
