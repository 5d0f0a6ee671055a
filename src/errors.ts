/**
 * Every error memc-load raises on purpose. Code matches on `err.code`, never on the
 * message or the class name, so codes are stable API; `docs/errors.md` lists them.
 */

export const ERROR_CODES = {
  INVALID_ARG: 'MCL_ERR_INVALID_ARG',
  CONFIG: 'MCL_ERR_CONFIG',
  FILE_READ: 'MCL_ERR_FILE_READ',
  GZIP: 'MCL_ERR_GZIP',
  CONNECT_TIMEOUT: 'MCL_ERR_CONNECT_TIMEOUT',
  RESPONSE_TIMEOUT: 'MCL_ERR_RESPONSE_TIMEOUT',
  SOCKET: 'MCL_ERR_SOCKET',
  PROTOCOL: 'MCL_ERR_PROTOCOL',
  SERVER: 'MCL_ERR_SERVER',
  CLIENT: 'MCL_ERR_CLIENT',
  CLOSED: 'MCL_ERR_CLOSED',
  DESTROYED: 'MCL_ERR_DESTROYED',
  SERVER_GONE: 'MCL_ERR_SERVER_GONE',
  WORKER: 'MCL_ERR_WORKER',
  INTERRUPTED: 'MCL_ERR_INTERRUPTED',
  FENCE: 'MCL_ERR_FENCE',
  LOCKED: 'MCL_ERR_LOCKED',
  SPOOL: 'MCL_ERR_SPOOL',
  REDIS: 'MCL_ERR_REDIS',
  LEASE: 'MCL_ERR_LEASE',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface ErrorContext {
  /** memcached server as `host:port`. */
  readonly server?: string;
  readonly file?: string;
  readonly line?: number;
  readonly cause?: unknown;
}

export class MemcLoadError extends Error {
  readonly code: ErrorCode;
  readonly server: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'MemcLoadError';
    this.code = code;
    this.server = context.server;
    this.file = context.file;
    this.line = context.line;
  }
}

function defineError(name: string, code: ErrorCode, defaultMessage: string) {
  const cls = class extends MemcLoadError {
    constructor(message: string = defaultMessage, context: ErrorContext = {}) {
      super(code, message, context);
      this.name = name;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** A command-line flag or option value is malformed (exit 2). */
export const InvalidArgumentError = defineError('InvalidArgumentError', ERROR_CODES.INVALID_ARG, 'invalid argument');
/** A configuration value is missing, unreadable or out of range (exit 2). */
export const ConfigError = defineError('ConfigError', ERROR_CODES.CONFIG, 'invalid configuration');
/** A log file could not be opened or read. */
export const FileReadError = defineError('FileReadError', ERROR_CODES.FILE_READ, 'could not read file');
/** A log file is not valid gzip, or ends before its gzip trailer. */
export const GzipError = defineError('GzipError', ERROR_CODES.GZIP, 'corrupt or truncated gzip data');
/** A memcached server did not accept the connection in time. */
export const ConnectTimeoutError = defineError('ConnectTimeoutError', ERROR_CODES.CONNECT_TIMEOUT, 'connect timeout');
/** A memcached server stopped answering with writes outstanding. */
export const ResponseTimeoutError = defineError('ResponseTimeoutError', ERROR_CODES.RESPONSE_TIMEOUT, 'response timeout');
/** The socket to a memcached server failed or was closed by the peer. */
export const SocketError = defineError('SocketError', ERROR_CODES.SOCKET, 'socket error');
/** A reply from memcached could not be understood: the stream is out of step. */
export const ProtocolError = defineError('ProtocolError', ERROR_CODES.PROTOCOL, 'protocol error');
/** memcached answered SERVER_ERROR. */
export const ServerError = defineError('ServerError', ERROR_CODES.SERVER, 'server error');
/** memcached answered CLIENT_ERROR: the request was malformed. */
export const ClientError = defineError('ClientError', ERROR_CODES.CLIENT, 'client error');
/** The connection was closed by memc-load while work was queued. */
export const ClosedError = defineError('ClosedError', ERROR_CODES.CLOSED, 'connection closed');
/** The connection was destroyed; queued work failed with it. */
export const DestroyedError = defineError('DestroyedError', ERROR_CODES.DESTROYED, 'connection destroyed');
/** A memcached server stayed unreachable through every retry. */
export const ServerGoneError = defineError('ServerGoneError', ERROR_CODES.SERVER_GONE, 'server unreachable after retries');
/** A worker thread failed or exited unexpectedly. */
export const WorkerError = defineError('WorkerError', ERROR_CODES.WORKER, 'worker thread failed');
/** The run was stopped by SIGINT or SIGTERM. */
export const InterruptedError = defineError('InterruptedError', ERROR_CODES.INTERRUPTED, 'interrupted by signal');
/** An abandoned connection could not be confirmed closed on the server, so nothing was resent on a new one. */
export const FenceError = defineError('FenceError', ERROR_CODES.FENCE, 'reconnect fence not confirmed');
/** Another run holds the lock of the folder being loaded (CLI exit 75: try again later). */
export const FolderLockedError = defineError('FolderLockedError', ERROR_CODES.LOCKED, 'the folder is being loaded by another run');
/**
 * A split file's spool (cluster/) is unusable: a segment or manifest is missing, damaged, or was
 * split with other options than this run's.
 */
export const SpoolError = defineError('SpoolError', ERROR_CODES.SPOOL, 'spool unusable');
/** Redis (the cluster mode's queue) could not be reached, or went away for longer than the commands wait. */
export const RedisError = defineError('RedisError', ERROR_CODES.REDIS, 'redis unreachable');
/**
 * A cluster worker's lease on a job ran out (its lock's last renewal, read with its time to live,
 * is too old), or its lock is another's: it writes nothing more to the node and resets its socket.
 */
export const LeaseExpiredError = defineError('LeaseExpiredError', ERROR_CODES.LEASE, 'lease on the job ran out');
