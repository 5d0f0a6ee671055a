/**
 * argv → a typed command. Pure: no I/O, so every flag is table-tested. The flags themselves, and
 * the help, are flags.ts's table.
 */
import { parseArgs } from 'node:util';
import { ENCODER_MODES, GUNZIP_MODES, parseServerPool, resolveOptions, type EncoderMode, type GunzipMode, type RunOptions } from '../config/options.js';
import { DEVICE_TYPES, type DeviceType, type Distribution, type ServerPool } from '../config/servers.js';
import { envName, fromConfigFile, fromEnv, mergeSources } from '../config/sources.js';
import { ConfigError, InvalidArgumentError } from '../errors.js';
import { WATCH_DEFAULTS, type WatchOptions } from '../config/defaults.js';
import type { LogLevel } from '../report/logger.js';
import { suggest } from '../config/did-you-mean.js';
import { GENERATE_FLAGS, RUN_FLAGS, type OptionDoc } from './flags.js';
import { resolveLogLevel } from './log-level.js';

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

function gunzipMode(value: string | undefined): GunzipMode | undefined {
  if (value === undefined || (GUNZIP_MODES as readonly string[]).includes(value)) return value as GunzipMode | undefined;
  throw new InvalidArgumentError(`--gunzip: "${value}" is not ${GUNZIP_MODES.join(', ')}`);
}

function encoderMode(value: string | undefined): EncoderMode | undefined {
  if (value === undefined || (ENCODER_MODES as readonly string[]).includes(value)) return value as EncoderMode | undefined;
  throw new InvalidArgumentError(`--encoder: "${value}" is not ${ENCODER_MODES.join(', ')}`);
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
    workers: workersValue(values.workers, at('workers')),
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
    encoder: encoderMode(str(values.encoder)),
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

/** `--workers`: a whole number or `auto`; a misspelt `auto` is told so, not called a bad number. */
function workersValue(v: string | boolean | undefined, where: string): number | 'auto' | undefined {
  if (v === 'auto') return 'auto';
  if (typeof v === 'string' && !/^\s*[-+]?[\d.]/.test(v)) throw new InvalidArgumentError(`${where}: "${v}" is neither a number nor auto`);
  return int(v, where);
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
