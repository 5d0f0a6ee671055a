/**
 * The metrics both a loader (`--metrics-port`) and a cluster worker export under the same names,
 * so one set of alerts and one dashboard serve both modes (deploy/): how far behind the folder is
 * (logfile/lag.ts), and each memcached node's connection state.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Lag } from '../report/lag.js';

/** What the lag gauges read at each scrape: the folder's pattern and its lag, or null when there is none to read (no plan yet). */
export type LagSource = () => Promise<{ readonly pattern: string; readonly lag: Lag } | null>;

/**
 * memc_load_oldest_pending_file_age_seconds, memc_load_newest_done_file_age_seconds and
 * memc_load_pending_files, labelled by `pattern`, read from the folder at scrape time. With
 * nothing pending the oldest pending age is 0 (nothing behind); with no file done yet, or when
 * the folder cannot be read, the series it cannot know are absent rather than a made-up 0.
 */
export function registerLag(registry: Registry, source: LagSource): void {
  const registers = [registry];
  let last: Promise<Awaited<ReturnType<LagSource>>> | null = null;
  // The three gauges' collect() run in one scrape: one folder listing serves them all.
  const read = () => {
    last ??= source()
      .catch(() => null)
      .finally(() => setTimeout(() => (last = null), 100).unref());
    return last;
  };
  const gauge = (name: string, help: string, pick: (lag: Lag) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['pattern'],
      registers,
      async collect() {
        this.reset();
        const r = await read();
        const v = r === null ? null : pick(r.lag);
        if (r !== null && v !== null) this.set({ pattern: r.pattern }, v);
      },
    });
  gauge('memc_load_oldest_pending_file_age_seconds', 'Age of the oldest pending file, from the UTC timestamp in its name (0: nothing pending)', (l) => l.oldestPending?.ageSeconds ?? 0);
  gauge('memc_load_newest_done_file_age_seconds', 'Age of the newest file marked done, from the UTC timestamp in its name', (l) => l.newestDone?.ageSeconds ?? null);
  gauge('memc_load_pending_files', 'Files a run would load now (not done, not left out as late)', (l) => l.pending);
}

/**
 * memc_load_server_records_loaded_total and memc_load_server_evictions_total, by server: per
 * node, since a pool's records split over its nodes and each evicts on its own. `when` says what
 * this process counts them over (files settling, a worker's completed applies).
 */
export function nodeCounters(registry: Registry, when: string): { readonly loaded: Counter<'server'>; readonly evictions: Counter<'server'> } {
  const registers = [registry];
  return {
    loaded: new Counter({ name: 'memc_load_server_records_loaded_total', help: `Records acknowledged, by server (${when})`, labelNames: ['server'], registers }),
    evictions: new Counter({
      name: 'memc_load_server_evictions_total',
      help: `Rise of the server's evictions and store_no_memory counters (${when}), by server`,
      labelNames: ['server'],
      registers,
    }),
  };
}

type ConnEvent = 'connect' | 'disconnect' | 'gone';

/**
 * memc_load_server_up (1 while connected or not yet tried) and memc_load_server_given_up (1 once
 * a connection spent its --retries, until one connects again), by server. Fed by the loader's
 * observer events, or straight from the connections' diagnostics channels (a worker, whose
 * connections live inside its apply jobs).
 */
export class ServerGauges {
  readonly #up: Gauge<'server'>;
  readonly #givenUp: Gauge<'server'>;

  constructor(registry: Registry, servers: readonly string[] = []) {
    const registers = [registry];
    this.#up = new Gauge({ name: 'memc_load_server_up', help: '1 while the server is reachable', labelNames: ['server'], registers });
    this.#givenUp = new Gauge({ name: 'memc_load_server_given_up', help: '1 once a connection to the server spent its --retries, until one connects again', labelNames: ['server'], registers });
    for (const s of servers) this.up(s);
  }

  up(server: string): void {
    this.#up.set({ server }, 1);
    this.#givenUp.set({ server }, 0);
  }

  down(server: string): void {
    this.#up.set({ server }, 0);
  }

  gone(server: string): void {
    this.#up.set({ server }, 0);
    this.#givenUp.set({ server }, 1);
  }

  /** Follows every connection of this process on these channel events; returns the unsubscribe. */
  follow(events: readonly ConnEvent[]): () => void {
    const act: Record<ConnEvent, (server: string) => void> = { connect: (s) => this.up(s), disconnect: (s) => this.down(s), gone: (s) => this.gone(s) };
    const handlers = events.map((e) => [`memc-load:connection:${e}`, (m: unknown) => act[e]((m as { server: string }).server)] as const);
    for (const [name, fn] of handlers) subscribe(name, fn);
    return () => {
      for (const [name, fn] of handlers) unsubscribe(name, fn);
    };
  }
}
