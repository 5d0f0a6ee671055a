/**
 * argv → the cluster commands (`enqueue`, `worker`, `status`; docs/cluster.md). Pure, like args.ts.
 * `enqueue` takes every load option of a single-host run (parsed by parseCli, so they mean and
 * check the same) plus its own; the plan carries them to the workers, which need only --redis.
 */
import { parseArgs } from 'node:util';
import type { RunOptions } from '../config/options.js';
import { ConfigError, InvalidArgumentError } from '../errors.js';
import type { LogLevel } from '../report/logger.js';
import { parseCli } from './args.js';
import { suggest } from '../config/did-you-mean.js';
import { LOG_LEVELS, resolveLogLevel } from './log-level.js';

export const REDIS_ENV = 'MEMC_LOAD_REDIS';

/** enqueue --wait: seconds without a live worker before it says so. */
export const DEFAULT_WARN_IDLE_S = 30;

interface FlagDoc {
  readonly type: 'string' | 'boolean';
  readonly arg?: string;
  readonly help: string;
  readonly def?: string;
}

const COMMON: Readonly<Record<string, FlagDoc>> = {
  redis: { type: 'string', arg: 'URL', help: `Redis holding the queues, redis://host:port[/db] (or ${REDIS_ENV})` },
  'redis-timeout': { type: 'string', arg: 'MS', help: 'how long Redis may take to answer at start', def: '5000' },
  help: { type: 'boolean', help: 'show this help (also -h)' },
};

/** The log settings of the commands that run for a while, with the loader's names and levels. */
const LOGGING: Readonly<Record<string, FlagDoc>> = {
  log: { type: 'string', arg: 'FILE', help: 'append the log to FILE instead of stderr' },
  'log-format': { type: 'string', arg: 'text|json', help: 'json: one JSON object per log line', def: 'text' },
  'log-level': { type: 'string', arg: LOG_LEVELS.join('|'), help: 'least severe log lines written', def: 'info' },
};

export const CLUSTER_FLAGS: Readonly<Record<'enqueue' | 'worker' | 'status', Readonly<Record<string, FlagDoc>>>> = {
  enqueue: {
    ...COMMON,
    spool: { type: 'string', arg: 'DIR', help: 'folder for split segments, readable by every worker', def: '<pattern folder>/.memc-load-spool' },
    'spool-ahead': { type: 'string', arg: 'N', help: 'files split ahead of the first one not yet renamed, at most (bounds the spool)', def: '16' },
    wait: { type: 'boolean', help: 'wait until the plan settles; exit 0 if every file was renamed, 1 if one failed (each failure is logged with its reason)' },
    'warn-idle': {
      type: 'string',
      arg: 'SECONDS',
      help: 'with --wait: warn when no worker has been alive for this long (repeated as long as it lasts)',
      def: String(DEFAULT_WARN_IDLE_S),
    },
  },
  worker: {
    ...COMMON,
    concurrency: { type: 'string', arg: 'N', help: 'split jobs at once in this process (apply: one per node in the cluster)', def: '1' },
    'lock-duration': { type: 'string', arg: 'MS', help: "a job's lock; a worker silent this long loses its jobs to others", def: '30000' },
    'spool-every-lane': {
      type: 'boolean',
      help: "write every lane of a split to the spool, even a lane whose apply waits in this process (by default the split hands that lane's records straight to it)",
    },
    'metrics-port': { type: 'string', arg: 'PORT', help: 'serve Prometheus /metrics and /healthz on this port' },
    'metrics-host': { type: 'string', arg: 'HOST', help: 'address the metrics server listens on', def: '127.0.0.1' },
    ...LOGGING,
  },
  status: {
    ...COMMON,
    json: { type: 'boolean', help: 'the status as one JSON object on stdout' },
  },
};

export interface LogArgs {
  readonly file: string | null;
  readonly format: 'text' | 'json';
  readonly level: LogLevel;
}

export interface RedisArgs {
  readonly url: string;
  readonly timeoutMs: number;
}

export type ClusterCommand =
  | { readonly kind: 'cluster-help'; readonly command: 'enqueue' | 'worker' | 'status' }
  | {
      readonly kind: 'enqueue';
      readonly redis: RedisArgs;
      readonly options: RunOptions;
      readonly spool: string | null;
      readonly spoolAhead: number;
      readonly wait: boolean;
      readonly warnIdleMs: number;
      readonly log: LogArgs;
    }
  | {
      readonly kind: 'worker';
      readonly redis: RedisArgs;
      readonly concurrency: number;
      readonly lockMs: number;
      /** Splits here hand no lane straight to its apply (cluster/hand-off.ts). */
      readonly spoolEveryLane: boolean;
      readonly metricsPort: number | null;
      readonly metricsHost: string;
      readonly log: LogArgs;
    }
  | { readonly kind: 'status'; readonly redis: RedisArgs; readonly json: boolean };

export function isClusterCommand(word: string | undefined): word is 'enqueue' | 'worker' | 'status' {
  return word === 'enqueue' || word === 'worker' || word === 'status';
}

export function parseClusterCli(command: 'enqueue' | 'worker' | 'status', argv: readonly string[], env: NodeJS.ProcessEnv = {}): ClusterCommand {
  const own = CLUSTER_FLAGS[command];
  // Help first, whatever else is on the line: `worker -h` must not ask for --redis.
  if (argv.some((a) => a === '-h' || a === '--help')) return { kind: 'cluster-help', command };
  // enqueue passes what is not its own to the load options' parser; the others take only theirs.
  const mine: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const name = a.startsWith('--') ? (a.slice(2).split('=')[0] as string) : null;
    const doc = name === null ? undefined : own[name];
    if (doc === undefined) {
      // The loader's own wording (node:util parseArgs, cli/args.ts), so every command says it alike.
      if (command !== 'enqueue') throw new InvalidArgumentError(`Unknown option '${a}'${suggest(name ?? a, Object.keys(own))}`);
      rest.push(a);
      continue;
    }
    mine.push(a);
    if (doc.type === 'string' && !a.includes('=') && argv[i + 1] !== undefined) mine.push(argv[++i] as string);
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.entries(own).map(([n, d]) => [n, { type: d.type }]));
    values = parseArgs({ args: mine, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}`, { cause: err });
  }
  if (values['help'] === true) return { kind: 'cluster-help', command };
  // enqueue's load options first: a misspelt flag is the mistake to name, not the missing --redis.
  const run = command === 'enqueue' ? parseCli(rest, env) : null;
  const url = str(values['redis']) ?? env[REDIS_ENV];
  if (url === undefined || url === '') throw new InvalidArgumentError(`give --redis URL (e.g. redis://127.0.0.1:6379) or set ${REDIS_ENV}`);
  const redis = { url, timeoutMs: whole(values['redis-timeout'], 'redis-timeout', 5000, 1, 600_000) };
  if (command === 'status') return { kind: 'status', redis, json: values['json'] === true };
  if (command === 'worker') {
    const port = str(values['metrics-port']);
    return {
      kind: 'worker',
      redis,
      concurrency: whole(values['concurrency'], 'concurrency', 1, 1, 64),
      lockMs: whole(values['lock-duration'], 'lock-duration', 30_000, 1000, 3_600_000),
      spoolEveryLane: values['spool-every-lane'] === true,
      metricsPort: port === undefined ? null : whole(port, 'metrics-port', 0, 0, 65535),
      metricsHost: str(values['metrics-host']) ?? '127.0.0.1',
      log: logArgs(values),
    };
  }
  if (run === null) throw new Error('unreachable: enqueue parses its load options above');
  if (run.kind !== 'run') throw new InvalidArgumentError(`${rest.join(' ')} is not a load option`);
  if (run.options.dry) throw new ConfigError('enqueue: --dry has no meaning for a plan; run memc-load --dry on one host');
  if (run.cli.watch !== null) throw new ConfigError('enqueue: --watch is not for plans; run enqueue from cron, or with --wait in a loop');
  // The workers split in worker threads so their event loop keeps renewing job locks: never 0.
  const options: RunOptions = run.options.workers === 0 ? { ...run.options, workers: 1 } : run.options;
  const spoolAhead = whole(values['spool-ahead'], 'spool-ahead', 16, 1, 100_000);
  const warnIdleMs = whole(values['warn-idle'], 'warn-idle', DEFAULT_WARN_IDLE_S, 1, 86_400) * 1000;
  const log = { file: run.logFile, format: run.cli.logFormat, level: run.cli.logLevel };
  return { kind: 'enqueue', redis, options, spool: str(values['spool']) ?? null, spoolAhead, wait: values['wait'] === true, warnIdleMs, log };
}

function logArgs(values: Record<string, string | boolean | undefined>): LogArgs {
  const format = str(values['log-format']) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new InvalidArgumentError(`--log-format: "${format}" is not text or json`);
  const level = resolveLogLevel([{ values, where: (flag) => `--${flag}` }], false, true);
  return { file: str(values['log']) ?? null, format, level };
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function whole(v: string | boolean | undefined, name: string, def: number, min: number, max: number): number {
  if (typeof v !== 'string') return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`--${name}: "${v}" is not a whole number`);
  if (n < min || n > max) throw new ConfigError(`--${name}: ${n} is out of range (${min}..${max})`);
  return n;
}

export function clusterHelp(command: 'enqueue' | 'worker' | 'status'): string {
  const usage = {
    enqueue: 'memc-load enqueue --redis URL --pattern GLOB [--spool DIR] [--wait] [load options: --idfa … --max-error-rate …]\n  Plans the pending files, oldest first, as jobs in Redis; workers load them. Run it again at any time: a file is never planned twice.',
    worker: 'memc-load worker --redis URL [--concurrency N] [--metrics-port P] [--log FILE] [--log-level L] [--log-format json]\n  Runs the jobs of every plan: split, apply (one node at a time), commit. Any number, on any hosts. SIGTERM finishes or hands back its jobs.',
    status: 'memc-load status --redis URL [--json]\n  Files pending, in flight, done and failed, per node, and why.',
  }[command];
  const flags = Object.entries(CLUSTER_FLAGS[command])
    .map(([name, d]) => {
      const left = `  --${name}${d.arg ? ` ${d.arg}` : ''}`;
      const text = `${d.help}${d.def !== undefined ? ` (default: ${d.def})` : ''}`;
      // As the loader's help: a flag wider than its column has its text on the next line, aligned.
      return left.length < 30 ? `${left.padEnd(30)} ${text}` : `${left}\n${' '.repeat(31)}${text}`;
    })
    .join('\n');
  const more = command === 'enqueue' ? '\n  and every load option of memc-load (memc-load --help), --log, --log-level and --log-format included' : '';
  return `Usage: ${usage}\n\nOptions:\n${flags}${more}\n\nDocs: docs/cluster.md`;
}
