/**
 * The only module that prints or chooses an exit status.
 *   0  every file succeeded (or nothing matched)   1  a file failed, or the run did
 *   2  usage or configuration error                130 / 143  SIGINT / SIGTERM
 *   75 another run holds the folder's lock (EX_TEMPFAIL: nothing was done, try again later)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { ERROR_CODES, MemcLoadError } from '../errors.js';
import { packageUrl } from '../package-file.js';
import type { BatchSettled } from '../memcached/router.js';
// Metrics and the self-test pull in prom-client and protobufjs, ~0.1 s of start-up each: they are
// loaded only when asked for (--metrics-port, self-test), not on every start; so is `generate`
// (nine modules that a load never runs).
import { describeLag } from '../report/lag.js';
import type { LoaderMetrics } from '../metrics/metrics.js';
import { laneAddresses } from '../pool/lanes.js';
import { nodeForKey } from '../pool/where.js';
import { combineObservers, type LoadObserver } from '../report/observer.js';
import { renderSummary, toJsonReport } from '../report/render.js';
import type { LogLevel } from '../report/logger.js';
import { renderNodes } from '../report/render-nodes.js';
import type { RunReport } from '../report/run-report.js';
import { parseCli, type CliSettings, type Command } from './args.js';
import { clusterHelp, isClusterCommand, parseClusterCli, type ClusterCommand } from './cluster-args.js';
import { debugEvents } from './debug-events.js';
import { helpText } from './flags.js';
import { preflight } from './preflight.js';
import { ProgressLine, progressStyle, type ProgressSnapshot } from './progress.js';
import { createTextLogger, type ClosableLogger } from './text-logger.js';
import { usageError } from './usage-error.js';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, LOCKED: 75, SIGINT: 130, SIGTERM: 143 } as const;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packageUrl('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  if (isClusterCommand(argv[0])) {
    let cluster: ClusterCommand;
    try {
      cluster = parseClusterCli(argv[0], argv.slice(1), process.env);
    } catch (err) {
      return usageError(err, argv[0]);
    }
    // Help needs no Redis: printed before BullMQ loads (~0.3 s of CPU of its 0.4: issue #19 item 4).
    if (cluster.kind === 'cluster-help') {
      process.stdout.write(`${clusterHelp(cluster.command)}\n`);
      return EXIT.OK;
    }
    // BullMQ and ioredis load only for these commands: the single-host loader needs no Redis.
    const { runCluster } = await import('./cluster.js');
    return runCluster(cluster);
  }
  let command: Command;
  try {
    command = parseCli(argv, process.env);
  } catch (err) {
    return usageError(err);
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(`${helpText(packageVersion(), command.topic)}\n`);
      return EXIT.OK;
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return EXIT.OK;
    case 'generate': {
      const { generateLogs } = await import('../generate/index.js');
      let summary;
      try {
        summary = await generateLogs(command.generate);
      } catch (err) {
        // A path under a file, no permission, a full disk: one line, not a stack, worded as --spool's.
        const e = err as NodeJS.ErrnoException;
        const message = err instanceof MemcLoadError ? err.message : `--out: cannot write into the folder ${command.generate.dir} (${e.message})`;
        process.stderr.write(`memc-load generate: ${message}\n`);
        return EXIT.USAGE;
      }
      for (const f of summary.files) process.stdout.write(`${f.path}\t${f.lines} lines\n`);
      return EXIT.OK;
    }
    case 'where':
      try {
        for (const key of command.keys) process.stdout.write(`${nodeForKey(key, command.options)}\n`);
      } catch (err) {
        return usageError(err);
      }
      return EXIT.OK;
    case 'test':
      return withLogger(command.logFile, 'text', 'info', async (logger) => {
        const { runSelfTest } = await import('./self-test.js');
        return (await runSelfTest(logger)) ? EXIT.OK : EXIT.FAILED;
      });
    case 'run':
      return withLogger(command.logFile, command.cli.logFormat, command.cli.logLevel, (logger) =>
        runLoad(command.options, command.cli, command.logFile, logger),
      );
  }
}

async function withLogger(
  logFile: string | null,
  format: 'text' | 'json',
  level: LogLevel,
  body: (logger: ClosableLogger) => Promise<number>,
): Promise<number> {
  let logger: ClosableLogger;
  try {
    logger = createTextLogger(logFile, level, format);
  } catch (err) {
    return usageError(err);
  }
  try {
    return await body(logger);
  } catch (err) {
    if (err instanceof MemcLoadError) {
      logger.log('error', `${err.message} [${err.code}]`, { code: err.code });
      if (err.code === ERROR_CODES.LOCKED) return EXIT.LOCKED;
      return err.code === ERROR_CODES.CONFIG || err.code === ERROR_CODES.INVALID_ARG ? EXIT.USAGE : EXIT.FAILED;
    }
    logger.log('error', `unexpected error, this is a bug in memc-load; please report it: ${(err as Error)?.stack ?? String(err)}`);
    return EXIT.FAILED;
  } finally {
    logger.close();
  }
}

async function runLoad(options: RunOptions, cli: CliSettings, logFile: string | null, baseLogger: ClosableLogger): Promise<number> {
  // The pipeline (~70 modules) loads only for a load: enqueue, worker and status never run it.
  const [{ Loader }, { lockedRun }, { watch }] = await Promise.all([
    import('../pipeline/loader.js'),
    import('../pipeline/run-lock.js'),
    import('../pipeline/watch.js'),
  ]);
  preflight(options, cli.report);
  // The progress line shares stderr with the log: clear it before a log line, redraw after.
  const style = progressStyle(process.stderr, cli.quiet, process.env);
  // Drawn as each file starts, not only on the timer: a short file would otherwise never show.
  let progress: ProgressLine | null = null;
  const tracker = new ProgressTracker(() => progress?.draw());
  progress = style === null ? null : new ProgressLine(process.stderr, style, () => tracker.snapshot());
  const logger: ClosableLogger =
    progress === null || logFile !== null
      ? baseLogger
      : {
          log: (level, message, fields) => {
            progress.clear();
            baseLogger.log(level, message, fields);
          },
          close: () => baseLogger.close(),
        };

  const servers = DEVICE_TYPES.map((t) => `${t}=${options.servers[t].label}`).join(' ');
  logger.log(
    'info',
    `memc-load ${packageVersion()} started: pattern=${options.pattern} ${servers} dry=${options.dry} workers=${options.workers} ` +
      `max_error_rate=${options.maxErrorRate} batch_bytes=${options.batchBytes} ttl=${options.ttl} packed=${options.packed} gunzip=${options.gunzip} encoder=${options.encoder}` +
      `${pooled(options) ? ` distribution=${options.distribution}` : ''}` +
      `${cli.watch ? ' watch=yes' : ''}`,
  );

  let metrics: LoaderMetrics | undefined;
  let metricsServer: Server | undefined;
  if (cli.metricsPort !== null) {
    const [{ LoaderMetrics }, { startMetricsServer }] = await Promise.all([import('../metrics/metrics.js'), import('../metrics/server.js')]);
    // A series per node: a pool's nodes are lanes of their own, each up, down or slow alone.
    metrics = new LoaderMetrics(laneAddresses(DEVICE_TYPES.map((t) => options.servers[t])).map((a) => a.label), options);
    metricsServer = await startMetricsServer(metrics, cli.metricsPort, cli.metricsHost, options.responseTimeoutMs);
    logger.log('info', `Metrics on http://${cli.metricsHost}:${cli.metricsPort}/metrics and /healthz`);
  }

  const controller = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    const code = sig === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
    if (signalled !== null) {
      logger.log('error', `${sig} again: exiting now; files not yet renamed will be reloaded by the next run`);
      process.exit(code);
    }
    signalled = sig;
    logger.log('warn', `${sig}: stopping; waiting briefly for acknowledgements of what was sent (again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const debug = cli.logLevel === 'debug' ? debugEvents(logger) : null;
  progress?.start();
  try {
    const hooks = {
      logger,
      dryOutput: process.stdout,
      signal: controller.signal,
      observer: combineObservers([metrics, tracker, debug?.observer]),
    };
    const report = await lockedRun(options, hooks, () => (cli.watch ? watch(options, hooks, cli.watch) : new Loader(options, hooks).run()));
    progress?.stop();
    logTotals(logger, report);
    // Watch mode ends by a signal by design: that is a clean stop, not an interruption.
    const code =
      signalled !== null && !cli.watch ? (signalled === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM) : report.ok ? EXIT.OK : EXIT.FAILED;
    // Fitted to the terminal: a table wider than it wraps into an unreadable one.
    if (style !== null && report.files.length > 0) process.stderr.write(`\n${renderSummary(report, style.columns)}`);
    if (style !== null && report.files.length > 0 && pooled(options)) process.stderr.write(`\n${renderNodes(report, style.columns)}`);
    if (cli.report !== null) writeReport(cli.report, toJsonReport(report, options, packageVersion(), code));
    return code;
  } finally {
    progress?.stop();
    debug?.close();
    metricsServer?.close();
    metrics?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Some type has a pool of two or more nodes: only then does the distribution matter. */
function pooled(options: RunOptions): boolean {
  return DEVICE_TYPES.some((t) => options.servers[t].nodes.length > 1);
}

/** On stdout one line (never with --dry: args.ts refuses it); in a file, indented for people. */
function writeReport(target: string, report: object): void {
  if (target === '-') process.stdout.write(`${JSON.stringify(report)}\n`);
  else writeFileSync(target, `${JSON.stringify(report, null, 2)}\n`);
}

/** Turns loader events into what the progress line shows. */
class ProgressTracker implements LoadObserver {
  readonly #onFileStarted: () => void;
  #file: string | null = null;
  #index = 0;
  #files = 0;
  #bytesRead = 0;
  /** Bytes read of the run's earlier files: the run's rate, and so the ETA, carries across files. */
  #bytesBefore = 0;
  #bytesTotal = 0;
  #lines = 0;
  #errors = 0;

  constructor(onFileStarted: () => void) {
    this.#onFileStarted = onFileStarted;
  }

  fileStarted(path: string, index: number, bytes: number): void {
    this.#bytesBefore += this.#bytesRead;
    this.#file = path;
    this.#index = index;
    this.#files = Math.max(this.#files, index + 1);
    this.#bytesRead = 0;
    this.#bytesTotal = bytes;
    this.#onFileStarted();
  }

  filesFound(count: number): void {
    this.#files = count;
  }

  bytesRead(_path: string, bytes: number): void {
    this.#bytesRead = bytes;
  }

  linesApplied(lines: number, rejected: Readonly<Record<string, number | undefined>>): void {
    this.#lines += lines;
    for (const n of Object.values(rejected)) this.#errors += n ?? 0;
  }

  batchSettled(s: BatchSettled): void {
    this.#errors += s.failed + s.tooLarge;
  }

  snapshot(): ProgressSnapshot {
    return {
      file: this.#file,
      fileIndex: this.#index,
      files: this.#files,
      bytesRead: this.#bytesRead,
      bytesTotal: this.#bytesTotal,
      lines: this.#lines,
      errors: this.#errors,
      runBytesRead: this.#bytesBefore + this.#bytesRead,
    };
  }
}

function logTotals(logger: ClosableLogger, r: RunReport): void {
  const t = r.totals;
  if (t.files === 0) return;
  if (r.dry) {
    logger.log(
      r.ok ? 'info' : 'error',
      `Done (dry run): ${t.files} file(s), ${t.succeeded} succeeded, ${t.failed} failed; would load ${t.records} records; lines=${t.lines} ` +
        `rejected=${t.rejectedTotal} in ${r.seconds.toFixed(2)}s (${r.linesPerSecond} lines/s)${r.interrupted ? '; interrupted' : ''}`,
      { totals: t },
    );
    return;
  }
  logger.log(
    r.ok ? 'info' : 'error',
    `Done: ${t.files} file(s), ${t.succeeded} succeeded, ${t.failed} failed, ${t.renamed} renamed; lines=${t.lines} ` +
      `loaded=${t.loaded} rejected=${t.rejectedTotal} failed_writes=${t.failedWrites} ` +
      `evictions=${t.evictionsTotal} (${Object.entries(t.evictions).map(([s, n]) => `${s}=${n}`).join(' ') || 'none'}) ` +
      `in ${r.seconds.toFixed(2)}s ` +
      `(${r.linesPerSecond} lines/s)${r.interrupted ? '; interrupted' : ''}`,
    { totals: t },
  );
  if (r.lag !== null) logger.log('info', `Lag: ${describeLag(r.lag)}`, { lag: r.lag });
}
