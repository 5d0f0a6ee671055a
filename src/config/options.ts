import { ConfigError } from '../errors.js';
import { DEFAULT_SERVERS, DEFAULTS } from './defaults.js';
import { suggest } from './did-you-mean.js';
import { DEVICE_TYPES, DISTRIBUTIONS, type DeviceType, type Distribution, type ServerAddress, type ServerPool } from './servers.js';

export { DEFAULT_PATTERN, DEFAULT_SERVERS, DEFAULTS, defaultWorkers } from './defaults.js';

/** --gunzip: which inflater reads the files (logfile/gunzip-choice.ts). */
export const GUNZIP_MODES = ['auto', 'isal', 'inline', 'pool'] as const;
export type GunzipMode = (typeof GUNZIP_MODES)[number];
/** --encoder: which fast path encodes clean lines (pipeline/native-encode.ts). */
export const ENCODER_MODES = ['auto', 'native', 'js'] as const;
export type EncoderMode = (typeof ENCODER_MODES)[number];

/** Everything a run needs, already validated. Built by the CLI or passed to `load()`. */
export interface RunOptions {
  /** Glob selecting the minute logs; dot-prefixed (done) files never match. */
  readonly pattern: string;
  /** A pool of one or more servers per device type. */
  readonly servers: Readonly<Record<DeviceType, ServerPool>>;
  /** How a pool's keys are spread over its nodes: what its readers' clients do (pool/placement.ts). */
  readonly distribution: Distribution;
  /** Parse and encode, print records, write and rename nothing. */
  readonly dry: boolean;
  /**
   * Worker threads for parsing and encoding; 0 does everything in the main thread; `auto` parses
   * in the main thread and starts threads only while it is saturated and a core idles
   * (pipeline/auto-threads.ts).
   */
  readonly workers: number | 'auto';
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
   * Which inflater reads the files (logfile/gunzip-choice.ts): `auto` the fastest that passed its
   * start-up check, `isal` the native ISA-L addon, `inline` Node's zlib on the reading thread,
   * `pool` Node's zlib stream on libuv's thread pool.
   */
  readonly gunzip: GunzipMode;
  /**
   * Which fast path encodes clean lines (pipeline/native-encode.ts): `auto` the native addon
   * where it passed its start-up check, else JS; `native` the same, with a warning when it falls
   * back; `js` the JS one (fast-line.ts). The bytes are the same; only the CPU differs.
   */
  readonly encoder: EncoderMode;
  /**
   * Seconds to wait for another run's lock on the folder to be released (docs/spec.md, "One run
   * per folder"); 0 gives up at once.
   */
  readonly waitLock: number;
  /**
   * Load a pending file even when a newer file of its folder is already marked done
   * (logfile/late-files.ts). Off by default: the older minute would overwrite the newer
   * minute's values for every key the two files share.
   */
  readonly loadLate: boolean;
  /**
   * Rejected (or app-id-warned) lines logged per file with their reason, then one line saying
   * how many more there are; 0 logs none. The counts are exact whatever it is.
   */
  readonly logRejected: number;
}

/** `host:port`, `[v6]:port`; the label keeps the user's spelling for messages. */
export function parseServerAddress(text: string, flag: string): ServerAddress {
  const node = parseNode(text.trim(), flag, false);
  return { host: node.host, port: node.port, label: node.label };
}

/** Weights above this would leave the lighter nodes of a pool with no point on the circle at all. */
export const MAX_WEIGHT = 1000;

/**
 * A pool: `host:port[:weight]` items, comma-separated (`[v6]:port[:weight]` for IPv6). One item
 * is the plain single server. The same node twice in one pool is an error: readers would count
 * it twice on the circle, the loader would open two lanes to it.
 */
export function parseServerPool(text: string, flag: string): ServerPool {
  const items = text.split(',').map((s) => s.trim());
  const nodes = items.map((item) => parseNode(item, flag, items.length > 1));
  const seen = new Set<string>();
  for (const n of nodes) {
    const id = `${n.host.toLowerCase()}:${n.port}`;
    if (seen.has(id)) throw new ConfigError(`${flag}: ${n.label} is listed twice in "${text.trim()}"; list each node of a pool once`);
    seen.add(id);
  }
  return { nodes, label: items.join(',') };
}

function parseNode(item: string, flag: string, inList: boolean): ServerAddress & { weight: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})(?::(\d+))?$/.exec(item);
  const port = m ? Number(m[3]) : NaN;
  if (m && !(port >= 1 && port <= 65535)) throw new ConfigError(`${flag}: "${item}": port ${m[3]} out of range (1-65535)`);
  if (!m) {
    const pool = inList || item.split(':').length === 3 ? '; a pool is host:port[:weight],… (e.g. 10.0.0.1:11211,10.0.0.2:11211:2)' : '';
    throw new ConfigError(`${flag}: "${item}" is not host:port (e.g. 127.0.0.1:33013)${pool}`);
  }
  const weight = m[4] === undefined ? 1 : Number(m[4]);
  if (!(weight >= 1 && weight <= MAX_WEIGHT)) {
    throw new ConfigError(`${flag}: "${item}": the weight must be a whole number from 1 to ${MAX_WEIGHT}`);
  }
  const label = m[4] === undefined ? item : item.slice(0, item.length - m[4].length - 1);
  return { host: (m[1] ?? m[2]) as string, port, label, weight };
}

export type OptionInput = Partial<Omit<RunOptions, 'servers'>> & {
  /** Per device type: `host:port[:weight],…`, one address, a list of addresses, or a resolved pool. */
  readonly servers?: Partial<Record<DeviceType, string | ServerAddress | readonly (string | ServerAddress)[] | ServerPool>>;
};

/** Fills defaults and checks ranges; throws ConfigError naming the option at fault. */
export function resolveOptions(input: OptionInput = {}): RunOptions {
  checkShape(input);
  const servers = {} as Record<DeviceType, ServerPool>;
  for (const type of DEVICE_TYPES) servers[type] = toPool(input.servers?.[type] ?? DEFAULT_SERVERS[type], `--${type}`);
  const o: RunOptions = { ...DEFAULTS, ...stripUndefined(input), servers };
  if (o.workers !== 'auto') checkInt('workers', o.workers, 0, 256);
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
  checkInt('log-rejected', o.logRejected, 0, 1_000_000);
  if (o.pattern.trim() === '') throw new ConfigError('--pattern: empty glob');
  // The library's options reach their users unchecked otherwise: a misspelt mode would read as `auto`.
  checkOneOf('gunzip', o.gunzip, GUNZIP_MODES);
  checkOneOf('encoder', o.encoder, ENCODER_MODES);
  checkOneOf('distribution', o.distribution, DISTRIBUTIONS);
  return o;
}

function checkOneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(value as string)) throw new ConfigError(`--${name}: "${String(value)}" is not ${allowed.join(', ')}`);
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
    if (!(key in defaults)) {
      const names = [...Object.keys(defaults), 'servers'];
      throw new ConfigError(`unknown option "${key}"${suggest(key, names, '"', '"')} (options: ${names.join(', ')})`);
    }
    // workers is a number or 'auto': resolveOptions checks which.
    if (key === 'workers' && value !== undefined && typeof value !== 'number' && value !== 'auto') {
      throw new ConfigError(`option "workers" must be a number or "auto", not ${typeof value} (${JSON.stringify(value)})`);
    }
    const want = key === 'workers' ? typeof value : typeof defaults[key];
    if (value !== undefined && typeof value !== want) throw new ConfigError(`option "${key}" must be a ${want}, not ${typeof value} (${JSON.stringify(value)})`);
  }
}

type PoolInput = string | ServerAddress | readonly (string | ServerAddress)[] | ServerPool;

function toPool(given: PoolInput, flag: string): ServerPool {
  if (typeof given === 'string') return parseServerPool(given, flag);
  if (Array.isArray(given)) {
    const list = given as readonly (string | ServerAddress)[];
    const text = list.map((n) => (typeof n === 'string' ? n : n.weight === undefined || n.weight === 1 ? n.label : `${n.label}:${n.weight}`)).join(',');
    return parseServerPool(text, flag);
  }
  if ('nodes' in (given as object)) return given as ServerPool;
  const one = given as ServerAddress;
  return { nodes: [one], label: one.label };
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
