import type { LogFields, LogLevel } from '../report/logger.js';

/**
 * --log-format json: one object per line for log shippers, with the structured fields the loader
 * attaches (file, line, reason, server, report …) as keys beside the message.
 */
export function formatJsonLine(level: LogLevel, message: string, fields: LogFields = {}, now: Date = new Date()): string {
  return `${JSON.stringify({ time: now.toISOString(), level, msg: message, ...fields })}\n`;
}
