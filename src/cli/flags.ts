/**
 * The flags of each command, as one table that drives both parsing (args.ts) and --help, so the
 * help can never drift from what is accepted; and the help texts rendered from it. The flags of
 * the reference Python loader keep their names and defaults; the rest are for operators who need more.
 */
import { DEFAULT_SERVERS, DEFAULTS, ENCODER_MODES, GUNZIP_MODES } from '../config/options.js';
import { envName } from '../config/sources.js';
import { WATCH_DEFAULTS } from '../config/defaults.js';
import { LOG_LEVELS } from './log-level.js';

export interface OptionDoc {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly arg?: string;
  readonly help: string;
  readonly def?: string;
}

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
  workers: {
    type: 'string',
    arg: 'N|auto',
    help: 'worker threads for parsing; 0 = single-threaded; auto = inline, starting threads (up to the cores) only while the main thread is saturated and a core idles',
    def: 'auto',
  },
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
  encoder: { type: 'string', arg: ENCODER_MODES.join('|'), help: 'the fast path for clean lines: the native one where it passed its check, else JS (same bytes, more CPU)', def: DEFAULTS.encoder },
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

export function helpText(version: string, topic?: 'generate' | 'where'): string {
  if (topic === 'generate') {
    return `Usage: memc-load generate [--out DIR] [--files N] [--lines N] [--bad-rate R] …\n  Writes realistic sample minute-logs (YYYYMMDDhhmmss.tsv.gz), the same bytes for the same seed.\n\nOptions:\n${renderFlags(GENERATE_FLAGS)}\n\nDocs: README.md`;
  }
  if (topic === 'where') {
    const pick = ['idfa', 'gaid', 'adid', 'dvid', 'distribution', 'config', 'help'];
    const flags = Object.fromEntries(pick.map((n) => [n, RUN_FLAGS[n] as OptionDoc]));
    return `Usage: memc-load where KEY… [--idfa HOST:PORT[,…] …] [--distribution D]\n  Prints the node (host:port) each key (e.g. idfa:1rfw452y52g2gq4g) goes to in its type's pool, as the loader and the readers place it.\n\nOptions:\n${renderFlags(flags)}\n\nDocs: docs/operations.md`;
  }
  return mainHelp(version, renderFlags);
}

function renderFlags(flags: Readonly<Record<string, OptionDoc>>): string {
  return Object.entries(flags)
    .map(([name, d]) => {
      const left = `  ${d.short ? `-${d.short}, ` : '    '}--${name}${d.arg ? ` ${d.arg}` : ''}`;
      const text = `${d.help}${d.def !== undefined ? ` (default: ${d.def})` : ''}`;
      // A flag wider than its column gets its text on the next line, so the texts stay aligned.
      return left.length < 36 ? `${left.padEnd(36)} ${text}` : `${left}\n${' '.repeat(37)}${text}`;
    })
    .join('\n');
}

function mainHelp(version: string, render: (flags: Readonly<Record<string, OptionDoc>>) => string): string {
  return `memc-load ${version}: load gzipped TSV installed-apps logs into memcached, in order

Usage:
  memc-load [options]              load every file matching --pattern, oldest first
  memc-load generate [options]     write realistic sample minute-logs
  memc-load where KEY… [--idfa …]  print the node (host:port) of each key's pool it goes to
  memc-load enqueue --redis URL …  plan the pending files as jobs for workers on many hosts (BullMQ)
  memc-load worker --redis URL     run the jobs of the plans; any number, on any hosts
  memc-load status --redis URL     files pending, in flight, done and failed, per node
  (each command has its own -h/--help; the cluster's are in docs/cluster.md)

Options:
${render(RUN_FLAGS)}

generate options:
${render(GENERATE_FLAGS)}

Exit status: 0 every file succeeded (or no file matched); 1 a file failed to load, its
error rate reached --max-error-rate, or it was left pending (late, a dangling link, a
name that is not UTF-8); 2 usage or configuration error; 75 another run or a cluster
plan is loading the folder (nothing was done: try again later); 130/143 on
SIGINT/SIGTERM, except with --watch, where a requested stop is a clean end (0, or 1 if a
file failed).
Docs: README.md and docs/ in the package.`;
}
