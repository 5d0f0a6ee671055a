/**
 * The library reports through this interface and never prints; the CLI decides where lines go.
 * Fields are structured so a JSON log shipper gets them as keys, not buried in the message.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
}

export const silentLogger: Logger = { log() {} };
