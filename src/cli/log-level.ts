/**
 * Which log level a run uses, from --log-level, -v/--verbose and -q in every settings source.
 * Pure, so the rules are table-tested: they decide what an operator sees, and -q once hid only the
 * progress line while warnings still reached the terminal.
 */
import type { FlagValues } from '../config/sources.js';
import { InvalidArgumentError } from '../errors.js';
import type { LogLevel } from '../report/logger.js';

/** Most severe first, as the help text lists them. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const satisfies readonly LogLevel[];

export interface LevelSource {
  readonly values: FlagValues;
  /** How an error names the source: `--log-level`, `--config FILE: "log-level"`. */
  readonly where: (flag: string) => string;
}

/**
 * Sources are listed lowest precedence first (config file, environment, flags); the last one that
 * sets a level wins. Without any, -q with the log on stderr means errors only: a quiet cron job or
 * terminal sees what needs action, while a --log FILE keeps the full record at info.
 */
export function resolveLogLevel(sources: readonly LevelSource[], quiet: boolean, logToStderr: boolean): LogLevel {
  let level: LogLevel | undefined;
  for (const { values, where } of sources) {
    const given = values['log-level'];
    const verbose = values['verbose'] === true;
    if (typeof given === 'string') {
      if (!(LOG_LEVELS as readonly string[]).includes(given)) {
        throw new InvalidArgumentError(`${where('log-level')}: "${given}" is not one of ${LOG_LEVELS.join(', ')}`);
      }
      if (verbose && given !== 'debug') {
        throw new InvalidArgumentError(`-v/--verbose means --log-level debug; it cannot go with --log-level ${given}`);
      }
      level = given as LogLevel;
    } else if (verbose) level = 'debug';
  }
  return level ?? (quiet && logToStderr ? 'error' : 'info');
}
