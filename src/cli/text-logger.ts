import { closeSync, openSync, writeSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Logger, LogLevel } from '../report/logger.js';
import { formatJsonLine } from './json-logger.js';

const LETTER: Readonly<Record<LogLevel, string>> = { debug: 'D', info: 'I', warn: 'W', error: 'E' };

/** The reference loader's format (Python logging `[%(asctime)s] %(levelname).1s %(message)s`). */
export function formatLine(level: LogLevel, message: string, now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}.${p(now.getMonth() + 1)}.${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
  return `[${stamp}] ${LETTER[level]} ${message}\n`;
}

export interface ClosableLogger extends Logger {
  close(): void;
}

/**
 * Writes synchronously: log lines are few (per file, not per record), and a line written before a
 * crash or a signal exit is worth more than the microseconds saved.
 */
export function createTextLogger(logFile: string | null, minLevel: LogLevel = 'info', format: 'text' | 'json' = 'text'): ClosableLogger {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  let fd = 2;
  if (logFile !== null) {
    try {
      fd = openSync(logFile, 'a');
    } catch (err) {
      throw new ConfigError(`--log: cannot open ${logFile} for appending (${(err as Error).message})`, { file: logFile, cause: err });
    }
  }
  return {
    log(level, message, fields) {
      if (order.indexOf(level) < order.indexOf(minLevel)) return;
      writeSync(fd, format === 'json' ? formatJsonLine(level, message, fields) : formatLine(level, message));
    },
    close() {
      if (fd !== 2) closeSync(fd);
    },
  };
}
