/**
 * The only module that prints or chooses an exit status.
 *   0  every file succeeded (or nothing matched)   1  a file failed, or the run did
 *   2  usage or configuration error                130 / 143  SIGINT / SIGTERM
 */
import { readFileSync } from 'node:fs';
import { DEVICE_TYPES } from '../config/servers.js';
import { ERROR_CODES, MemcLoadError } from '../errors.js';
import { generateLogs } from '../generate/index.js';
import { Loader } from '../pipeline/loader.js';
import type { RunReport } from '../report/run-report.js';
import { helpText, parseCli, type Command } from './args.js';
import { runSelfTest } from './self-test.js';
import { createTextLogger, type ClosableLogger } from './text-logger.js';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, SIGINT: 130, SIGTERM: 143 } as const;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCli(argv);
  } catch (err) {
    return usageError(err);
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(`${helpText(packageVersion())}\n`);
      return EXIT.OK;
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return EXIT.OK;
    case 'generate': {
      const summary = await generateLogs(command.generate);
      for (const f of summary.files) process.stdout.write(`${f.path}\t${f.lines} lines\n`);
      return EXIT.OK;
    }
    case 'test':
      return withLogger(command.logFile, async (logger) => ((await runSelfTest(logger)) ? EXIT.OK : EXIT.FAILED));
    case 'run':
      return withLogger(command.logFile, (logger) => runLoad(command.options, logger));
  }
}

async function withLogger(logFile: string | null, body: (logger: ClosableLogger) => Promise<number>): Promise<number> {
  let logger: ClosableLogger;
  try {
    logger = createTextLogger(logFile);
  } catch (err) {
    return usageError(err);
  }
  try {
    return await body(logger);
  } catch (err) {
    if (err instanceof MemcLoadError) {
      logger.log('error', `${err.message} [${err.code}]`);
      return err.code === ERROR_CODES.CONFIG || err.code === ERROR_CODES.INVALID_ARG ? EXIT.USAGE : EXIT.FAILED;
    }
    logger.log('error', `unexpected error, this is a bug in memc-load; please report it: ${(err as Error)?.stack ?? String(err)}`);
    return EXIT.FAILED;
  } finally {
    logger.close();
  }
}

async function runLoad(options: import('../config/options.js').RunOptions, logger: ClosableLogger): Promise<number> {
  const servers = DEVICE_TYPES.map((t) => `${t}=${options.servers[t].label}`).join(' ');
  logger.log(
    'info',
    `memc-load ${packageVersion()} started: pattern=${options.pattern} ${servers} dry=${options.dry} workers=${options.workers} ` +
      `max_error_rate=${options.maxErrorRate} batch_bytes=${options.batchBytes}`,
  );
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
  try {
    const report = await new Loader(options, { logger, dryOutput: process.stdout, signal: controller.signal }).run();
    logTotals(logger, report);
    if (signalled !== null) return signalled === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
    return report.ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function logTotals(logger: ClosableLogger, r: RunReport): void {
  const t = r.totals;
  if (t.files === 0) return;
  logger.log(
    r.ok ? 'info' : 'error',
    `Done: ${t.files} file(s), ${t.succeeded} succeeded, ${t.failed} failed, ${t.renamed} renamed; lines=${t.lines} ` +
      `loaded=${t.loaded} rejected=${t.rejectedTotal} failed_writes=${t.failedWrites} in ${r.seconds.toFixed(2)}s ` +
      `(${r.linesPerSecond} lines/s)${r.interrupted ? '; interrupted' : ''}`,
  );
}

function usageError(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`memc-load: ${message}\nTry 'memc-load --help'.\n`);
  return EXIT.USAGE;
}
