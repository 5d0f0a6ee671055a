/**
 * Prometheus metrics for long-running (--watch) and cron runs alike, fed by LoadObserver events.
 * prom-client does the exposition format; we only decide names and labels.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readLag } from '../logfile/lag.js';
import type { BatchSettled } from '../memcached/router.js';
import { REJECT_REASONS, type RejectReason } from '../record/reasons.js';
import type { FileReport } from '../report/file-report.js';
import type { LoadObserver } from '../report/observer.js';
import { nodeCounters, registerLag, ServerGauges } from './shared.js';

/** The folder the lag gauges read: the run's --pattern, and whether it loads late files. */
export interface LagFolder {
  readonly pattern: string;
  readonly loadLate: boolean;
}

export class LoaderMetrics implements LoadObserver {
  readonly registry = new Registry();
  readonly #loaded: Counter;
  readonly #lines: Counter;
  readonly #rejected: Counter<'reason'>;
  readonly #failed: Counter<'server'>;
  readonly #nodeLoaded: Counter<'server'>;
  readonly #evictions: Counter<'server'>;
  readonly #files: Counter<'outcome'>;
  readonly #latency: Histogram<'server'>;
  readonly #lastDone: Gauge;
  readonly #servers: ServerGauges;
  readonly #unfollow: () => void;
  readonly #downSince = new Map<string, number>();
  #sampleBuffered: (() => Readonly<Record<string, number>>) | null = null;

  constructor(servers: readonly string[], folder: LagFolder | null = null) {
    const registers = [this.registry];
    this.#lines = new Counter({ name: 'memc_load_lines_total', help: 'Non-blank lines read', registers });
    this.#loaded = new Counter({ name: 'memc_load_records_loaded_total', help: 'Records acknowledged by memcached', registers });
    this.#rejected = new Counter({ name: 'memc_load_lines_rejected_total', help: 'Rejected lines by reason', labelNames: ['reason'], registers });
    this.#failed = new Counter({ name: 'memc_load_failed_writes_total', help: 'Records that could not be written, by server', labelNames: ['server'], registers });
    const perNode = nodeCounters(this.registry, 'as files settle');
    this.#nodeLoaded = perNode.loaded;
    this.#evictions = perNode.evictions;
    this.#files = new Counter({ name: 'memc_load_files_total', help: 'Files finished, by outcome', labelNames: ['outcome'], registers });
    this.#latency = new Histogram({
      name: 'memc_load_batch_latency_seconds',
      help: 'From writing a batch to its MN acknowledgement',
      labelNames: ['server'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const self = this;
    // Registered for its collect() hook, which samples the connections at scrape time.
    new Gauge({
      name: 'memc_load_bytes_in_flight',
      help: 'Bytes queued or unacknowledged, by server',
      labelNames: ['server'],
      registers,
      collect() {
        const sample = self.#sampleBuffered?.() ?? {};
        for (const s of servers) this.set({ server: s }, sample[s] ?? 0);
      },
    });
    this.#lastDone = new Gauge({ name: 'memc_load_last_file_done_timestamp_seconds', help: 'When the last file was marked done (unix time)', registers });
    this.#servers = new ServerGauges(this.registry, servers);
    // Up and down come from the observer (they also drive /healthz); only the give-up has no event there.
    this.#unfollow = this.#servers.follow(['gone']);
    if (folder !== null) registerLag(this.registry, async () => ({ pattern: folder.pattern, lag: await readLag(folder.pattern, folder.loadLate) }));
    // Zero every labelled series up front, so a scrape shows them before the first event.
    for (const r of REJECT_REASONS) this.#rejected.inc({ reason: r }, 0);
    for (const o of ['succeeded', 'failed_data', 'failed_load']) this.#files.inc({ outcome: o }, 0);
    for (const s of servers) {
      this.#failed.inc({ server: s }, 0);
      this.#nodeLoaded.inc({ server: s }, 0);
      this.#evictions.inc({ server: s }, 0);
    }
  }

  linesApplied(lines: number, rejected: Readonly<Partial<Record<RejectReason, number>>>): void {
    this.#lines.inc(lines);
    for (const r of REJECT_REASONS) {
      const n = rejected[r] ?? 0;
      if (n > 0) this.#rejected.inc({ reason: r }, n);
    }
  }

  batchSettled(s: BatchSettled): void {
    this.#loaded.inc(s.loaded);
    if (s.loaded > 0) this.#nodeLoaded.inc({ server: s.server }, s.loaded);
    if (s.tooLarge > 0) this.#rejected.inc({ reason: 'too_large' }, s.tooLarge);
    if (s.failed > 0) this.#failed.inc({ server: s.server }, s.failed);
    if (s.latencySeconds !== null) this.#latency.observe({ server: s.server }, s.latencySeconds);
  }


  fileFinished(report: FileReport): void {
    this.#files.inc({ outcome: report.outcome });
    for (const [server, n] of Object.entries(report.evictions)) this.#evictions.inc({ server }, n);
    for (const [server, n] of Object.entries(report.storeNoMemory)) this.#evictions.inc({ server }, n);
    if (report.renamed) this.#lastDone.set(Date.now() / 1000);
  }

  serverDown(server: string): void {
    if (!this.#downSince.has(server)) this.#downSince.set(server, performance.now());
    this.#servers.down(server);
  }

  serverUp(server: string): void {
    this.#downSince.delete(server);
    this.#servers.up(server);
  }

  bufferedBytes(sample: () => Readonly<Record<string, number>>): void {
    this.#sampleBuffered = sample;
  }

  /** Stops following the connections' give-ups. */
  close(): void {
    this.#unfollow();
  }

  /** Servers unreachable for longer than `graceMs`: /healthz fails while there are any. */
  unhealthy(graceMs: number, now = performance.now()): string[] {
    return [...this.#downSince].filter(([, since]) => now - since > graceMs).map(([s]) => s);
  }
}
