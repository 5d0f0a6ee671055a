import { ConfigError } from '../errors.js';

/**
 * Exit 2's message. A path or value that cannot be used is one line; a misused command line also
 * points at the help (the subcommand's own, when there is one).
 */
export function usageError(err: unknown, command = ''): number {
  const message = err instanceof Error ? err.message : String(err);
  const hint = err instanceof ConfigError ? '' : `Try 'memc-load ${command === '' ? '' : `${command} `}--help'.\n`;
  process.stderr.write(`memc-load${command === '' ? '' : ` ${command}`}: ${message}\n${hint}`);
  return 2;
}
