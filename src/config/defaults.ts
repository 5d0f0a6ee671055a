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
  workers: defaultWorkers(),
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

/**
 * One worker per core (issue #2: "the default uses the machine's cores"). On 2 cores shared with
 * four local memcached, 1 worker and 2 measured alike within the machine's noise
 * (docs/benchmarks.md, optimisation log); with memcached on other hosts, parsing is the stage
 * that needs the cores.
 */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}
