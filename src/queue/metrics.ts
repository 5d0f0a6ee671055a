/**
 * A worker's Prometheus metrics (`memc-load worker --metrics-port`): jobs by queue and outcome,
 * their durations, and whether Redis answers. The per-node write figures of the single-host
 * loader are not kept here: a node's writes are spread over every worker of the cluster.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #jobs: Counter<'queue' | 'outcome'>;
  readonly #seconds: Histogram<'queue'>;
  readonly #redisUp: Gauge;
  #downSince: number | null = null;

  constructor() {
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
  }

  job(queue: string, outcome: 'completed' | 'failed', ms: number): void {
    this.#jobs.inc({ queue, outcome });
    this.#seconds.observe({ queue }, ms / 1000);
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
}
