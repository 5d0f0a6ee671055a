/**
 * `memc-load worker`: one process's BullMQ Workers.
 *
 *   split   concurrency --concurrency (CPU work, in splitFile's worker threads: this process's
 *           share of the host's cores, host-share.ts)
 *   commit  concurrency 1 (a rename and a few Redis calls)
 *   apply-<node>, one Worker per node any plan named (read from Redis every second, so a worker
 *           started before the first enqueue picks the nodes up); each queue's global concurrency
 *           of 1 (set by enqueue) lets one job run per node across every worker of the cluster.
 *
 * Locks: BullMQ renews a job's lock every lockDuration/2 from this event loop. The CPU-heavy part
 * of a job runs in worker threads (splitFile), so the loop stays free to renew. A worker that
 * dies (SIGKILL, a lost host) stops renewing; after lockDuration another worker's stalled check
 * puts the job back at the head of its queue, and it runs again from the start: split rewrites
 * the same spool, apply rewrites its lane's segment in order, commit finds the rename done.
 *
 * stop(): Worker.close() on every Worker: no new job is taken, running ones finish (an apply
 * waiting for its split hands its lane back instead: processors.ts); then the nodes' connections
 * kept between applies (cluster/kept-conn.ts) are closed.
 */
import type { Job, Worker } from 'bullmq';
import { HandOffs } from '../cluster/hand-off.js';
import { KeptConnections } from '../cluster/kept-conn.js';
import type { LogFields, LogLevel } from '../report/logger.js';
import type { AppliedFigures } from './metrics.js';
import { bullmq } from './cjs.js';
import { HostShare } from './host-share.js';
import { applyQueue, COMMIT_QUEUE, KEYS, PREFIX, SPLIT_QUEUE } from './names.js';
import { applyJob, commitJob, splitJob, type WorkerContext } from './processors.js';
import type { Queues } from './queues.js';

export interface WorkerSettings {
  /** split jobs at once in this process. */
  readonly concurrency: number;
  /** BullMQ lockDuration: how long a silent worker keeps its jobs before others take them. */
  readonly lockMs: number;
  /** Counts the worker processes of this host, for the split's threads (a test gives its own folder). */
  readonly share?: HostShare;
  /** A split here hands a lane straight to its apply waiting here (cluster/hand-off.ts); default true. */
  readonly handOff?: boolean;
}

export interface WorkerEvents {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** A job finished: its queue, and how. */
  job?(queue: string, outcome: 'completed' | 'failed', ms: number): void;
  /** This worker serves a queue from now on. */
  queue?(queue: string): void;
  /** An apply job completed: what its node acknowledged and evicted meanwhile. */
  applied?(figures: AppliedFigures): void;
}

export class WorkerHost {
  readonly #queues: Queues;
  readonly #settings: WorkerSettings;
  readonly #events: WorkerEvents;
  readonly #workers = new Map<string, Worker>();
  #closing = false;
  readonly #lastError = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  readonly #share: HostShare;
  /** Each node's apply connection, kept from one file to the next; closed at stop(). */
  readonly #conns = new KeptConnections();
  /** This process's applies waiting for their splits, fed by a split here (cluster/hand-off.ts). */
  readonly #handOffs = new HandOffs();

  constructor(queues: Queues, settings: WorkerSettings, events: WorkerEvents) {
    this.#queues = queues;
    this.#settings = settings;
    this.#events = events;
    this.#share = settings.share ?? new HostShare();
  }

  get queueNames(): string[] {
    return [...this.#workers.keys()];
  }

  async start(): Promise<void> {
    this.#share.register();
    let serveLanes = async (): Promise<void> => {};
    const ctx: WorkerContext = {
      queues: this.#queues,
      closing: () => this.#closing,
      log: (m) => this.#events.log('info', m),
      logger: { log: (level, message, fields) => this.#events.log(level, message, fields) },
      splitThreads: (planWorkers) => this.#share.threads(planWorkers, this.#settings.concurrency),
      conns: this.#conns,
      ...(this.#settings.handOff === false ? {} : { handOffs: this.#handOffs, serveLanes: () => serveLanes() }),
    };
    this.#add(SPLIT_QUEUE, this.#settings.concurrency, (job, token) => splitJob(ctx, job, token));
    this.#add(COMMIT_QUEUE, 1, (job, token) => commitJob(ctx, job, token));
    const lanes = async () => {
      for (const lane of await this.#queues.redis.smembers(KEYS.lanes)) {
        const name = applyQueue(lane);
        if (this.#workers.has(name) || this.#closing) continue;
        this.#add(name, 1, (job, token) => applyJob(ctx, job, token), (r) => this.#events.applied?.(r as AppliedFigures));
        this.#handOffs.serving(lane);
      }
    };
    serveLanes = lanes;
    await lanes();
    const poll = () => {
      this.#timer = setTimeout(() => {
        lanes().catch(() => {}).finally(() => !this.#closing && poll());
      }, 1000);
    };
    poll();
  }

  // BullMQ's processor type is generic over the job's data; ours are each for one queue.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  #add(name: string, concurrency: number, processor: (job: Job<any>, token: string | undefined) => Promise<unknown>, completed?: (result: unknown) => void): void {
    const w = new bullmq.Worker(name, processor, {
      connection: this.#queues.redis,
      prefix: PREFIX,
      concurrency,
      lockDuration: this.#settings.lockMs,
      stalledInterval: Math.max(500, Math.round(this.#settings.lockMs / 2)),
      // A job stalled this often is failed rather than run again: a file that kills its worker
      // (a bug, an OOM) must not take every worker of the cluster down in turn.
      maxStalledCount: 2,
      // An idle worker wakes at least this often to look for delayed commits and stalled jobs.
      drainDelay: 1,
    });
    const started = new Map<string, number>();
    w.on('active', (job) => started.set(job.id as string, performance.now()));
    w.on('completed', (job, result) => {
      this.#finished(name, 'completed', started, job);
      completed?.(result);
    });
    w.on('failed', (job, err) => {
      if (job !== undefined) this.#finished(name, 'failed', started, job);
      // E, as the loader logs a file that failed to load: someone has to act on it.
      this.#events.log('error', `${name} job ${job?.id ?? '?'} failed: ${err.message}`);
    });
    w.on('stalled', (id) => this.#events.log('warn', `${name} job ${id} stalled (its worker stopped renewing its lock): back at the head of its queue`));
    w.on('error', (err) => this.#error(name, err));
    this.#workers.set(name, w);
    this.#events.queue?.(name);
  }

  /**
   * Redis down makes every Worker report each failed reconnect: one line per distinct message
   * every 30 s says it as well as hundreds.
   */
  #error(queue: string, err: Error): void {
    const now = Date.now();
    if ((this.#lastError.get(err.message) ?? 0) > now - 30_000) return;
    this.#lastError.set(err.message, now);
    this.#events.log('error', `${queue}: ${err.message}${/ECONNREFUSED|ETIMEDOUT|ECONNRESET|EHOSTUNREACH/.test(err.message) ? ' (Redis unreachable; retrying; the jobs held here go to other workers if it lasts past their locks)' : ''}`);
  }

  #finished(queue: string, outcome: 'completed' | 'failed', started: Map<string, number>, job: Job): void {
    const t0 = started.get(job.id as string);
    started.delete(job.id as string);
    this.#events.job?.(queue, outcome, t0 === undefined ? 0 : performance.now() - t0);
  }

  /**
   * Takes no more jobs; resolves when the running ones have finished or been handed back. With
   * Redis unreachable for 5 s meanwhile, no job can finish (its completion is a Redis write):
   * the Workers are closed by force, and their jobs go to other workers once their locks lapse.
   */
  async stop(): Promise<void> {
    this.#closing = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const workers = [...this.#workers.values()];
    let downFor = 0;
    let giveUp!: () => void;
    const gaveUp = new Promise<void>((resolve) => (giveUp = resolve));
    const watchdog = setInterval(() => {
      downFor = this.#queues.redis.status === 'ready' ? 0 : downFor + 1;
      if (downFor < 5) return;
      this.#events.log('warn', 'Redis unreachable while stopping: closing without waiting; the running jobs go to other workers once their locks lapse');
      for (const w of workers) void w.close(true).catch(() => {});
      giveUp();
    }, 1000);
    try {
      await Promise.race([Promise.all(workers.map((w) => w.close())), gaveUp]);
    } finally {
      clearInterval(watchdog);
      this.#share.unregister();
      await this.#conns.close();
    }
  }
}
