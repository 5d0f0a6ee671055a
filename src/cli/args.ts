/**
 * argv → a typed command. Pure: no I/O, so every flag is table-tested. The flags of the reference
 * Python loader keep their names and defaults; the rest are for operators who need more.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SERVERS, DEFAULTS, GUNZIP_MODES, parseServerPool, resolveOptions, type GunzipMode, type RunOptions } from '../config/options.js';
import { DEVICE_TYPES, type DeviceType, type Distribution, type ServerPool } from '../config/servers.js';
import { envName, fromConfigFile, fromEnv, mergeSources } from '../config/sources.js';
import { ConfigError, InvalidArgumentError } from '../errors.js';
import { WATCH_DEFAULTS, type WatchOptions } from '../pipeline/watch.js';
import type { LogLevel } from '../report/logger.js';
import { suggest } from '../config/did-you-mean.js';
import { LOG_LEVELS, resolveLogLevel } from './log-level.js';

export type Command =
  | { readonly kind: 'help'; readonly topic?: 'generate' | 'where' }
  | { readonly kind: 'version' }
  | { readonly kind: 'test'; readonly logFile: string | null }
  | { readonly kind: 'run'; readonly options: RunOptions; readonly logFile: string | null; readonly cli: CliSettings }
  | { readonly kind: 'generate'; readonly generate: GenerateArgs }
  | { readonly kind: 'where'; readonly keys: readonly string[]; readonly options: RunOptions };

/** Settings of the command line itself, not of the load: where things are shown and how it runs. */
export interface CliSettings {
  /** --report: a path, '-' for stdout, or null. */
  readonly report: string | null;
  readonly logFormat: 'text' | 'json';
  /** The least severe level logged (cli/log-level.ts has the rules, -q included). */
  readonly logLevel: LogLevel;
  readonly quiet: boolean;
  readonly watch: WatchOptions | null;
  readonly metricsPort: number | null;
  readonly metricsHost: string;
}

export interface GenerateArgs {
  readonly dir: string;
  readonly files: number;
  readonly lines: number;
  readonly seed: number;
  readonly repeatRate: number;
  readonly badRate: number;
  readonly blankRate: number;
  readonly crlf: boolean;
  readonly start: string | undefined;
  /** --force: replace files of the same names. */
  readonly overwrite: boolean;
}

export interface OptionDoc {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly arg?: string;
  readonly help: string;
  readonly def?: string;
}

/** One table drives parsing and --help, so the help can never drift from what is accepted. */
export const RUN_FLAGS: Readonly<Record<string, OptionDoc>> = {
  pattern: { type: 'string', arg: 'GLOB', help: 'log files to load, oldest first', def: DEFAULTS.pattern },
  idfa: { type: 'string', arg: 'HOST:PORT[,…]', help: 'memcached for idfa records: one, or a pool host:port[:weight],…', def: DEFAULT_SERVERS.idfa },
  gaid: { type: 'string', arg: 'HOST:PORT[,…]', help: 'memcached for gaid records (or a pool)', def: DEFAULT_SERVERS.gaid },
  adid: { type: 'string', arg: 'HOST:PORT[,…]', help: 'memcached for adid records (or a pool)', def: DEFAULT_SERVERS.adid },
  dvid: { type: 'string', arg: 'HOST:PORT[,…]', help: 'memcached for dvid records (or a pool)', def: DEFAULT_SERVERS.dvid },
  distribution: {
    type: 'string',
    arg: 'ketama-weighted|ketama|modula',
    help: "how a pool's keys are spread, as its readers' libmemcached clients do it",
    def: DEFAULTS.distribution,
  },
  dry: { type: 'boolean', help: 'print every record (server, key, value as JSON) to stdout; write and rename nothing' },
  test: { type: 'boolean', short: 't', help: 'self-test the value encoding against golden bytes and a protobuf decoder' },
  log: { type: 'string', short: 'l', arg: 'FILE', help: 'append the log to FILE instead of stderr' },
  workers: { type: 'string', arg: 'N', help: 'worker threads for parsing; 0 = single-threaded', def: 'number of cores' },
  'max-error-rate': { type: 'string', arg: 'R', help: 'a file whose error rate reaches R fails', def: String(DEFAULTS.maxErrorRate) },
  'max-line-bytes': { type: 'string', arg: 'N', help: 'longer lines are rejected (too_long)', def: String(DEFAULTS.maxLineBytes) },
  'batch-bytes': { type: 'string', arg: 'N', help: 'decompressed bytes per batch (one mn fence per server)', def: String(DEFAULTS.batchBytes) },
  'max-buffered-bytes': { type: 'string', arg: 'N', help: 'unacknowledged bytes per server before reading pauses', def: String(DEFAULTS.maxBufferedBytes) },
  'connect-timeout': { type: 'string', arg: 'MS', help: 'connect timeout per attempt', def: String(DEFAULTS.connectTimeoutMs) },
  timeout: { type: 'string', arg: 'MS', help: 'no reply for this long with writes outstanding drops the connection', def: String(DEFAULTS.responseTimeoutMs) },
  retries: { type: 'string', arg: 'N', help: 'reconnect attempts per outage before a server is given up', def: String(DEFAULTS.retries) },
  'fail-on-evictions': {
    type: 'boolean',
    help: 'a file during which a server evicted items (or refused them for lack of memory) fails to load, instead of a warning',
  },
  ttl: { type: 'string', arg: 'SECONDS', help: 'item expiry; 0 = never expires', def: String(DEFAULTS.ttl) },
  packed: { type: 'boolean', help: "apps in protobuf's packed form (smaller; every protobuf parser reads it)" },
  gunzip: { type: 'string', arg: GUNZIP_MODES.join('|'), help: "the inflater: the fastest that passed its check, native ISA-L, zlib on the reading thread, or zlib on libuv's thread pool", def: DEFAULTS.gunzip },
  'wait-lock': {
    type: 'string',
    arg: 'SECONDS',
    help: 'if another run is loading the folder, wait up to this long for it (else exit 75 at once)',
    def: String(DEFAULTS.waitLock),
  },
  'load-late': {
    type: 'boolean',
    help: 'load a file even when a newer file of its folder is already done (its values then replace the newer ones for the keys both hold)',
  },
  report: { type: 'string', arg: 'FILE', help: 'write the run report as JSON to FILE (- for stdout); schema: docs/report.schema.json' },
  'log-format': { type: 'string', arg: 'text|json', help: 'json: one JSON object per log line', def: 'text' },
  'log-level': { type: 'string', arg: LOG_LEVELS.join('|'), help: 'least severe log lines written; debug adds connection and per-batch events', def: 'info' },
  'log-rejected': {
    type: 'string',
    arg: 'N',
    help: 'rejected lines logged per file with their reason, then one line saying how many more; 0 = none (the counts are always exact)',
    def: String(DEFAULTS.logRejected),
  },
  verbose: { type: 'boolean', short: 'v', help: 'same as --log-level debug' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress line, no summary table, and only errors on stderr (unless --log-level is given)' },
  watch: { type: 'boolean', help: 'keep running: load new files as they arrive, in order, until SIGINT/SIGTERM' },
  'watch-interval': { type: 'string', arg: 'MS', help: 'with --watch: how often the folder is looked at', def: String(WATCH_DEFAULTS.intervalMs) },
  'metrics-port': { type: 'string', arg: 'PORT', help: 'serve Prometheus /metrics and /healthz on this port' },
  'metrics-host': { type: 'string', arg: 'HOST', help: 'address the metrics server listens on', def: '127.0.0.1' },
  config: { type: 'string', arg: 'FILE', help: `JSON file of option names to values; flags win over ${envName('idfa')}-style environment variables, which win over the file` },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', short: 'V', help: 'show the version' },
};

export const GENERATE_FLAGS: Readonly<Record<string, OptionDoc>> = {
  out: { type: 'string', arg: 'DIR', help: 'folder to write the files into', def: '.' },
  force: { type: 'boolean', help: 'replace files of the same names already in the folder (else they stop it, exit 2)' },
  files: { type: 'string', arg: 'N', help: 'number of minute files', def: '3' },
  lines: { type: 'string', arg: 'N', help: 'lines per file', def: '10000' },
  seed: { type: 'string', arg: 'N', help: 'random seed (same seed, same bytes)', def: '1' },
  'repeat-rate': { type: 'string', arg: 'R', help: 'fraction of lines reusing an earlier key', def: '0.05' },
  'bad-rate': { type: 'string', arg: 'R', help: 'fraction of malformed lines', def: '0' },
  'blank-rate': { type: 'string', arg: 'R', help: 'fraction of blank lines', def: '0' },
  crlf: { type: 'boolean', help: 'CRLF line endings' },
  start: { type: 'string', arg: 'YYYYMMDDhhmmss', help: 'timestamp of the first file', def: '20170929000000' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

function gunzipMode(value: string | undefined): GunzipMode | undefined {
  if (value === undefined || (GUNZIP_MODES as readonly string[]).includes(value)) return value as GunzipMode | undefined;
  throw new InvalidArgumentError(`--gunzip: "${value}" is not ${GUNZIP_MODES.join(', ')}`);
}

function distribution(value: string | undefined): Distribution | undefined {
  if (value === undefined || value === 'ketama-weighted' || value === 'ketama' || value === 'modula') return value;
  throw new InvalidArgumentError(`--distribution: "${value}" is not ketama-weighted, ketama or modula`);
}

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Command {
  if (argv[0] === 'generate') return parseGenerate(argv.slice(1));
  const where = argv[0] === 'where';
  const { values: flags, positionals } = parseFlags(where ? argv.slice(1) : argv, RUN_FLAGS, where);
  if (flags.help) return where ? { kind: 'help', topic: 'where' } : { kind: 'help' };
  if (flags.version) return { kind: 'version' };
  const configFile = str(flags.config);
  const fromFile = configFile === undefined ? {} : fromConfigFile(configFile, RUN_FLAGS);
  const fromVars = fromEnv(env);
  const values = mergeSources(fromFile, fromVars, flags);
  // A bad value is named where it was written: the flag, the variable, or the config file's key.
  const at = (name: string) => (flags[name] !== undefined ? `--${name}` : fromVars[name] !== undefined ? envName(name) : `--config ${configFile}: "${name}"`);
  const logFile = str(values.log) ?? null;
  if (values.test && !where) return { kind: 'test', logFile };
  const servers: Partial<Record<DeviceType, ServerPool>> = {};
  for (const t of DEVICE_TYPES) {
    const v = str(values[t]);
    if (v === undefined) continue;
    servers[t] = parseServerPool(v, at(t));
  }
  if (where) {
    if (positionals.length === 0) throw new InvalidArgumentError('where: give a key, e.g. memc-load where idfa:1rfw452y52g2gq4g --idfa …');
    return { kind: 'where', keys: positionals, options: resolveOptions({ servers, distribution: distribution(str(values.distribution)) }) };
  }
  const options = resolveOptions({
    pattern: str(values.pattern),
    servers,
    dry: values.dry === true,
    workers: int(values.workers, at('workers')),
    maxErrorRate: num(values['max-error-rate'], at('max-error-rate')),
    maxLineBytes: int(values['max-line-bytes'], at('max-line-bytes')),
    batchBytes: int(values['batch-bytes'], at('batch-bytes')),
    maxBufferedBytes: int(values['max-buffered-bytes'], at('max-buffered-bytes')),
    connectTimeoutMs: int(values['connect-timeout'], at('connect-timeout')),
    responseTimeoutMs: int(values.timeout, at('timeout')),
    retries: int(values.retries, at('retries')),
    failOnEvictions: values['fail-on-evictions'] === true,
    ttl: int(values.ttl, at('ttl')),
    packed: values.packed === true,
    gunzip: gunzipMode(str(values.gunzip)),
    distribution: distribution(str(values.distribution)),
    waitLock: num(values['wait-lock'], at('wait-lock')),
    loadLate: values['load-late'] === true,
    logRejected: int(values['log-rejected'], at('log-rejected')),
  });
  const logFormat = str(values['log-format']) ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new InvalidArgumentError(`--log-format: "${logFormat}" is not text or json`);
  const watch = values.watch === true;
  if (watch && options.dry) throw new ConfigError('--watch with --dry would reload the same files forever: choose one');
  if (options.dry && str(values.report) === '-') {
    throw new ConfigError('--dry prints records on stdout, so --report - would mix the JSON report into them: write the report to a file (--report FILE)');
  }
  const metricsPort = int(values['metrics-port'], at('metrics-port')) ?? null;
  if (metricsPort !== null && (metricsPort < 0 || metricsPort > 65535)) throw new ConfigError(`--metrics-port: ${metricsPort} is not a port`);
  const interval = int(values['watch-interval'], at('watch-interval')) ?? WATCH_DEFAULTS.intervalMs;
  if (interval < 10) throw new ConfigError('--watch-interval: at least 10 ms');
  const quiet = values.quiet === true;
  const inFile = (flag: string) => `--config ${configFile}: "${flag}"`;
  const logLevel = resolveLogLevel(
    [
      { values: fromFile, where: inFile },
      { values: fromVars, where: envName },
      { values: flags, where: (flag) => `--${flag}` },
    ],
    quiet,
    logFile === null,
  );
  const cli: CliSettings = {
    report: str(values.report) ?? null,
    logFormat,
    logLevel,
    quiet,
    watch: watch ? { ...WATCH_DEFAULTS, intervalMs: interval } : null,
    metricsPort,
    metricsHost: str(values['metrics-host']) ?? '127.0.0.1',
  };
  return { kind: 'run', options, logFile, cli };
}

function parseGenerate(argv: readonly string[]): Command {
  const v = parseFlags(argv, GENERATE_FLAGS).values;
  if (v.help) return { kind: 'help', topic: 'generate' };
  const rate = (name: string, def: number) => {
    const r = num(v[name], `--${name}`) ?? def;
    if (r < 0 || r > 1) throw new ConfigError(`--${name}: ${r} is not a fraction between 0 and 1`);
    return r;
  };
  const start = str(v.start);
  if (start !== undefined && !/^\d{14}$/.test(start)) throw new InvalidArgumentError(`--start: "${start}" is not YYYYMMDDhhmmss`);
  return {
    kind: 'generate',
    generate: {
      dir: str(v.out) ?? '.',
      files: positive(int(v.files, '--files') ?? 3, 'files'),
      lines: positive(int(v.lines, '--lines') ?? 10_000, 'lines'),
      seed: int(v.seed, '--seed') ?? 1,
      repeatRate: rate('repeat-rate', 0.05),
      badRate: rate('bad-rate', 0),
      blankRate: rate('blank-rate', 0),
      crlf: v.crlf === true,
      start,
      overwrite: v.force === true,
    },
  };
}

/** Positionals are an error unless `allowPositionals` (the keys of `where`). */
function parseFlags(argv: readonly string[], flags: Readonly<Record<string, OptionDoc>>, allowPositionals = false): ParsedFlags {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, d]) => [name, d.short ? { type: d.type, short: d.short } : { type: d.type }]),
  );
  // `--workers -1` must reach the range check ("out of range"), not parseArgs's "ambiguous": a
  // negative number after a flag that takes a value is that value.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    const doc = a.startsWith('--') && !a.includes('=') ? flags[a.slice(2)] : undefined;
    if (doc?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals });
    const values = parsed.values as ParsedFlags['values'];
    return { values, positionals: parsed.positionals };
  } catch (err) {
    throw new InvalidArgumentError(explain(err as NodeJS.ErrnoException, args, flags), { cause: err });
  }
}

/** parseArgs's message, with what most likely went wrong: a misspelt flag, or a glob the shell expanded. */
function explain(err: NodeJS.ErrnoException, args: readonly string[], flags: Readonly<Record<string, OptionDoc>>): string {
  const message = err.message.replace(/\. To specify a positional.*$/s, '');
  const unknown = /^Unknown option '(-[^']+)'/.exec(message)?.[1];
  if (unknown !== undefined) return `${message}${suggest(unknown, Object.keys(flags))}`;
  const extra = /^Unexpected argument '([^']*)'/.exec(message)?.[1];
  if (extra === undefined) return message;
  // `--pattern /dir/*.tsv.gz` unquoted: the shell hands over every match, the first as the value.
  const at = args.indexOf(extra);
  const flag = at > 0 ? args.slice(0, at).reverse().find((a) => a.startsWith('-')) : undefined;
  if (flag === '--pattern' || flag?.startsWith('--pattern=')) {
    return `${message}: the shell expanded an unquoted --pattern into several files; quote it: --pattern '/dir/*.tsv.gz'`;
  }
  return message;
}

interface ParsedFlags {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** `where`: how the message names the value's source (`--workers`, `--config FILE: "workers"`). */
function num(v: string | boolean | undefined, where: string): number | undefined {
  if (typeof v !== 'string') return undefined;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${where}: "${v}" is not a number`);
  return n;
}

function int(v: string | boolean | undefined, where: string): number | undefined {
  const n = num(v, where);
  if (n !== undefined && !Number.isInteger(n)) throw new InvalidArgumentError(`${where}: "${String(v)}" is not a whole number`);
  return n;
}

function positive(n: number, name: string): number {
  if (n < 1) throw new InvalidArgumentError(`--${name}: must be at least 1`);
  return n;
}
