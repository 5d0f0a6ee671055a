/**
 * The default of every run option, in the one place it is written: resolveOptions (options.ts)
 * fills them in, the CLI prints them in --help, and the layers that take an option of their own
 * (memcached/connection.ts, record/parse-line.ts) default to the same value by importing it.
 * Apart from options.ts so that those layers import plain values, not the validation.
 */
import { availableParallelism } from 'node:os';
import type { DeviceType } from './servers.js';

export const DEFAULT_PATTERN = '/data/appsinstalled/*.tsv.gz';

export const DEFAULT_SERVERS: Readonly<Record<DeviceType, string>> = {
  idfa: '127.0.0.1:33013',
  gaid: '127.0.0.1:33014',
  adid: '127.0.0.1:33015',
  dvid: '127.0.0.1:33016',
};

export const DEFAULTS = {
  pattern: DEFAULT_PATTERN,
  dry: false,
  // Inline until encoder threads pay (pipeline/auto-threads.ts); a number fixes the threads.
  workers: 'auto' as number | 'auto',
  maxErrorRate: 0.01,
  maxLineBytes: 1024 * 1024,
  batchBytes: 512 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  connectTimeoutMs: 2000,
  responseTimeoutMs: 5000,
  retries: 8,
  failOnEvictions: false,
  ttl: 0,
  packed: false,
  gunzip: 'auto',
  encoder: 'auto',
  waitLock: 0,
  loadLate: false,
  logRejected: 10,
  // What pylibmc's ketama_weighted and php-memcached's OPT_LIBKETAMA_COMPATIBLE select (pool/placement.ts).
  distribution: 'ketama-weighted',
} as const;

/** --watch's timings (pipeline/watch.ts): here, so the CLI's flags and --help need no pipeline. */
export interface WatchOptions {
  /** How often the folder is looked at. */
  readonly intervalMs: number;
  /** A file modified more recently than this is still being written. */
  readonly settleMs: number;
  /** Wait before retrying a file that failed to load. */
  readonly retryMs: number;
}

export const WATCH_DEFAULTS: WatchOptions = { intervalMs: 1000, settleMs: 2000, retryMs: 5000 };

/**
 * The machine's cores: the most threads `--workers auto` starts, and what auto stands for where a
 * number is needed (the cluster's host share, queue/host-share.ts). Before auto it was the default
 * (issue #2); `--workers 0` then took ~23% less CPU on this 2-core host (docs/benchmarks.md).
 */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}
