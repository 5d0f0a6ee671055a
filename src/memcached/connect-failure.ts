/**
 * Whether an error is a failure to connect at all (as opposed to a connection lost), and the
 * short reason to show for it: the errno code (`ECONNREFUSED`, `EHOSTUNREACH`, `ENOTFOUND` …),
 * or `connect timed out`. A server that never answered is said to be unreachable, once, instead
 * of "lost … reconnecting" for a connection that never existed.
 */
import { ERROR_CODES, MemcLoadError } from '../errors.js';

export function connectFailure(err: Error | null | undefined): string | null {
  if (!err) return null;
  if (err instanceof MemcLoadError && err.code === ERROR_CODES.CONNECT_TIMEOUT) return 'connect timed out';
  const cause = (err instanceof MemcLoadError ? err.cause : err) as NodeJS.ErrnoException | undefined;
  if (cause === undefined || typeof cause.code !== 'string') return null;
  return cause.syscall === 'connect' || cause.syscall === 'getaddrinfo' ? cause.code : null;
}
