/**
 * A worker's Prometheus metrics (`memc-load worker --metrics-port`): jobs by queue and outcome,
 * their durations, whether Redis answers, whether this worker takes jobs, and, under the
 * loader's names (metrics/shared.ts), the current plan's folder lag and each node's connection
 * state as this worker's applies see it. Of the loader's per-node write figures only records
 * loaded and evictions are kept, from each completed apply: a node's writes are spread over
 * every worker of the cluster, so add them up across workers.
 */
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readLag } from '../logfile/lag.js';
import { nodeCounters, registerLag, ServerGauges } from '../metrics/shared.js';
import { currentPlan } from './plan.js';

/** What a completed apply job returns (processors.ts StoredApply), as far as metrics read it. */
export interface AppliedFigures {
  readonly server: string;
  readonly acknowledged: number;
  readonly evictions: number;
  readonly storeNoMemory: number;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #jobs: Counter<'queue' | 'outcome'>;
  readonly #seconds: Histogram<'queue'>;
  readonly #redisUp: Gauge;
  readonly #running: Gauge;
  readonly #nodeLoaded: Counter<'server'>;
  readonly #evictions: Counter<'server'>;
  readonly #unfollow: () => void;
  #downSince: number | null = null;

  /** `redis`: where the current plan, and so the folder whose lag is shown, is read at each scrape. */
  constructor(redis: Redis | null = null) {
    const registers = [this.registry];
    this.#jobs = new Counter({ name: 'memc_load_cluster_jobs_total', help: 'jobs finished by this worker', labelNames: ['queue', 'outcome'], registers });
    this.#seconds = new Histogram({
      name: 'memc_load_cluster_job_seconds',
      help: 'time from a job starting on this worker to its end',
      labelNames: ['queue'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
    this.#redisUp = new Gauge({ name: 'memc_load_cluster_redis_up', help: '1 while Redis answers this worker', registers });
    this.#redisUp.set(1);
    // "No live worker" is the absence of a 1 here across the cluster: a dead worker exports nothing.
    this.#running = new Gauge({ name: 'memc_load_cluster_worker_running', help: '1 while this worker takes jobs; 0 once it is stopping', registers });
    this.#running.set(1);
    const perNode = nodeCounters(this.registry, "this worker's completed applies");
    this.#nodeLoaded = perNode.loaded;
    this.#evictions = perNode.evictions;
    // Connections live inside apply jobs here: their own events say when a node is up or given up.
    this.#unfollow = new ServerGauges(this.registry).follow(['connect', 'disconnect', 'gone']);
    if (redis !== null) {
      registerLag(this.registry, async () => {
        const plan = await currentPlan(redis);
        return plan === null ? null : { pattern: plan.options.pattern, lag: await readLag(plan.options.pattern, plan.options.loadLate) };
      });
    }
  }

  /**
   * Zeroes a queue's series as the worker starts serving it: a counter born at 1 shows no
   * increase() to Prometheus, so the first failed job would page nobody.
   */
  queue(queue: string): void {
    for (const outcome of ['completed', 'failed']) this.#jobs.inc({ queue, outcome }, 0);
  }

  job(queue: string, outcome: 'completed' | 'failed', ms: number): void {
    this.#jobs.inc({ queue, outcome });
    this.#seconds.observe({ queue }, ms / 1000);
  }

  applied(r: AppliedFigures): void {
    this.#nodeLoaded.inc({ server: r.server }, r.acknowledged);
    this.#evictions.inc({ server: r.server }, r.evictions + r.storeNoMemory);
  }

  stopping(): void {
    this.#running.set(0);
  }

  redis(up: boolean): void {
    this.#redisUp.set(up ? 1 : 0);
    if (up) this.#downSince = null;
    else this.#downSince ??= Date.now();
  }

  /** For /healthz: Redis unreachable for longer than graceMs. */
  unhealthy(graceMs: number): string[] {
    return this.#downSince !== null && Date.now() - this.#downSince > graceMs ? ['redis'] : [];
  }

  close(): void {
    this.#unfollow();
  }
}
