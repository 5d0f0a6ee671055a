/**
 * The Redis connection of `enqueue`, `worker` and `status`, and the one setting memc-load insists
 * on. Under any `maxmemory-policy` but `noeviction`, Redis may evict a job, a lock or a plan key
 * when it fills up: a file would then run twice or never, with nobody told. So every command
 * checks it first and refuses to start otherwise.
 */
import type { Redis } from 'ioredis';
import { ioredis } from './cjs.js';
import { ConfigError, RedisError } from '../errors.js';
import type { Logger } from '../report/logger.js';

export interface RedisSettings {
  /** `redis://[user:pass@]host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** How long the first connection may take before the command gives up. */
  readonly timeoutMs: number;
}

/**
 * A connected client fit for BullMQ: `maxRetriesPerRequest: null` (BullMQ's workers require it:
 * a command waits through a Redis restart instead of failing), reconnecting for ever. Throws
 * RedisError when Redis does not answer within `timeoutMs`, ConfigError when its policy may evict.
 */
export async function connectRedis(s: RedisSettings): Promise<Redis> {
  let url: URL;
  try {
    url = new URL(s.url);
  } catch {
    throw new ConfigError(`--redis: "${s.url}" is not a URL (e.g. redis://127.0.0.1:6379)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`--redis: "${s.url}" is not a redis:// or rediss:// URL`);
  }
  const redis = new ioredis.Redis(s.url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: s.timeoutMs,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  // ioredis reports every failed reconnect as an 'error' event; with no listener Node would
  // print each one. The commands above say what matters (unreachable at start, a failed job).
  // The last one keeps the socket's own reason (ECONNREFUSED …): connect() rejects with only
  // "Connection is closed".
  let lastError: NodeJS.ErrnoException | undefined;
  redis.on('error', (err: NodeJS.ErrnoException) => (lastError = err));
  const where = `${url.hostname}:${url.port || 6379}`;
  try {
    await withTimeout(redis.connect(), s.timeoutMs, `Redis at ${where} did not answer within ${s.timeoutMs} ms`);
    const info = await withTimeout(redis.info('memory'), s.timeoutMs, `Redis at ${where} did not answer INFO within ${s.timeoutMs} ms`);
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1] ?? 'unknown';
    if (policy !== 'noeviction') {
      throw new ConfigError(
        `Redis at ${where} runs with maxmemory-policy ${policy}: it may evict jobs and locks when full, and a file would then load twice or never. ` +
          'Set maxmemory-policy noeviction (redis.conf, or CONFIG SET maxmemory-policy noeviction) and start again',
      );
    }
    return redis;
  } catch (err) {
    redis.disconnect();
    if (err instanceof ConfigError || err instanceof RedisError) throw err;
    const why = lastError?.code ?? (lastError ?? (err as Error)).message.replace(/\.$/, '');
    throw new RedisError(`could not reach Redis at ${where} (${why}); is redis-server running there?`, { cause: err });
  }
}

/** The URL a lock file and messages show: never the password. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** `host:port` of a Redis URL, for messages (never its password). */
export function redisWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return url;
  }
}

/**
 * Says when the connection comes back after it was lost (`Redis reachable again at HOST:PORT`,
 * info), and, unless `lost` is null, once when it is lost (warn). ioredis reconnects by itself;
 * this only tells the operator. Returns the function that stops watching: call it before
 * closing the connection on purpose, which would read as lost.
 */
export function watchRedis(redis: Redis, url: string, log: Logger, lost: string | null, onState?: (up: boolean) => void): () => void {
  const where = redisWhere(url);
  let down = false;
  const onClose = () => {
    if (!down && lost !== null) log.log('warn', `lost Redis at ${where}: ${lost}`);
    down = true;
    onState?.(false);
  };
  const onReady = () => {
    onState?.(true);
    if (down) log.log('info', `Redis reachable again at ${where}`);
    down = false;
  };
  redis.on('close', onClose);
  redis.on('ready', onReady);
  return () => {
    redis.off('close', onClose);
    redis.off('ready', onReady);
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisError(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
