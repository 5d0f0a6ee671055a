import { ConfigError } from '../errors.js';
import { DEFAULT_SERVERS, DEFAULTS } from './defaults.js';
import { DEVICE_TYPES, type DeviceType, type ServerAddress } from './servers.js';

export { DEFAULT_PATTERN, DEFAULT_SERVERS, DEFAULTS, defaultWorkers } from './defaults.js';

/** Everything a run needs, already validated. Built by the CLI or passed to `load()`. */
export interface RunOptions {
  /** Glob selecting the minute logs; dot-prefixed (done) files never match. */
  readonly pattern: string;
  /** One server per device type. */
  readonly servers: Readonly<Record<DeviceType, ServerAddress>>;
  /** Parse and encode, print records, write and rename nothing. */
  readonly dry: boolean;
  /** Worker threads for parsing and encoding; 0 does everything in the main thread. */
  readonly workers: number;
  /** A file whose error rate reaches this fails on its data (SPEC.md). */
  readonly maxErrorRate: number;
  readonly maxLineBytes: number;
  /** Decompressed bytes per batch: one unit of worker work and one `mn` fence per server. */
  readonly batchBytes: number;
  /** Bytes queued or unacknowledged per server before reading pauses. */
  readonly maxBufferedBytes: number;
  readonly connectTimeoutMs: number;
  /** No reply progress for this long with writes outstanding drops the connection. */
  readonly responseTimeoutMs: number;
  /** Reconnect attempts in one outage before a server is given up for the run. */
  readonly retries: number;
  /**
   * A rise of a server's `evictions` or `store_no_memory` counter while a file settles fails
   * that file's load (it and later files stay pending) instead of only being logged.
   */
  readonly failOnEvictions: boolean;
  readonly ttl: number;
  readonly packed: boolean;
  /**
   * Where files are inflated: `inline` on the thread that reads them (logfile/inline-gunzip.ts;
   * the thread pool is used anyway where this Node lacks what that needs), `pool` on libuv's
   * thread pool through Node's zlib stream.
   */
  readonly gunzip: 'inline' | 'pool';
  /**
   * Seconds to wait for another run's lock on the folder to be released (docs/spec.md, "One run
   * per folder"); 0 gives up at once.
   */
  readonly waitLock: number;
}

/** `host:port`, `[v6]:port`; the label keeps the user's spelling for messages. */
export function parseServerAddress(text: string, flag: string): ServerAddress {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new ConfigError(`${flag}: "${text}" is not host:port (e.g. 127.0.0.1:33013)`);
  }
  return { host: (m[1] ?? m[2]) as string, port, label: text.trim() };
}

export type OptionInput = Partial<Omit<RunOptions, 'servers'>> & {
  readonly servers?: Partial<Record<DeviceType, string | ServerAddress>>;
};

/** Fills defaults and checks ranges; throws ConfigError naming the option at fault. */
export function resolveOptions(input: OptionInput = {}): RunOptions {
  checkShape(input);
  const servers = {} as Record<DeviceType, ServerAddress>;
  for (const type of DEVICE_TYPES) {
    const given = input.servers?.[type] ?? DEFAULT_SERVERS[type];
    servers[type] = typeof given === 'string' ? parseServerAddress(given, `--${type}`) : given;
  }
  const o: RunOptions = { ...DEFAULTS, ...stripUndefined(input), servers };
  checkInt('workers', o.workers, 0, 256);
  checkNumber('max-error-rate', o.maxErrorRate, 0, 1);
  checkInt('max-line-bytes', o.maxLineBytes, 64, 1024 * 1024 * 1024);
  checkInt('batch-bytes', o.batchBytes, 4096, 64 * 1024 * 1024);
  checkInt('max-buffered-bytes', o.maxBufferedBytes, 64 * 1024, 1024 * 1024 * 1024);
  checkInt('connect-timeout', o.connectTimeoutMs, 1, 600_000);
  checkInt('timeout', o.responseTimeoutMs, 1, 600_000);
  checkInt('retries', o.retries, 0, 1000);
  // memcached reads an exptime over 30 days as a unix timestamp; keep the flag's meaning plain.
  checkInt('ttl', o.ttl, 0, 30 * 24 * 3600);
  checkNumber('wait-lock', o.waitLock, 0, 24 * 3600);
  if (o.pattern.trim() === '') throw new ConfigError('--pattern: empty glob');
  return o;
}

/**
 * The library's options are checked as --config checks its keys: a misspelt name must not be
 * silently ignored, and a value of the wrong type is named with the type expected.
 */
function checkShape(input: object): void {
  const defaults = DEFAULTS as Readonly<Record<string, unknown>>;
  for (const [key, value] of Object.entries(input)) {
    if (key === 'servers') {
      for (const type of Object.keys((value as object | undefined) ?? {})) {
        if (!(DEVICE_TYPES as readonly string[]).includes(type)) {
          throw new ConfigError(`servers: unknown device type "${type}" (expected ${DEVICE_TYPES.join(', ')})`);
        }
      }
      continue;
    }
    if (!(key in defaults)) throw new ConfigError(`unknown option "${key}" (options: ${[...Object.keys(defaults), 'servers'].join(', ')})`);
    const want = typeof defaults[key];
    if (value !== undefined && typeof value !== want) throw new ConfigError(`option "${key}" must be a ${want}, not ${typeof value} (${JSON.stringify(value)})`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'servers')) as Partial<T>;
}

function checkNumber(name: string, v: number, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(`--${name}: ${String(v)} is out of range (${min}..${max})`);
  }
}

function checkInt(name: string, v: number, min: number, max: number): void {
  checkNumber(name, v, min, max);
  if (!Number.isInteger(v)) throw new ConfigError(`--${name}: ${String(v)} is not a whole number`);
}
