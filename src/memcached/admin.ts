/**
 * One-shot requests over a fresh socket, for checks and tests rather than the load path:
 * `version`, `stats`, and reading keys back with pipelined `mg <key> v [t]` closed by `mn`.
 * Each opens its own socket, sends everything at once, reads with the shared ResponseParser,
 * and closes. One deadline covers connect and the whole reply; every error names the server.
 */
import { connect as netConnect } from 'node:net';
import type { ServerAddress } from '../config/servers.js';
import {
  ClientError,
  ConnectTimeoutError,
  InvalidArgumentError,
  ProtocolError,
  ResponseTimeoutError,
  ServerError,
  SocketError,
} from '../errors.js';
import { ConnTimer } from './conn-clock.js';
import { isValidKey } from './encode.js';
import { ResponseParser, type Reply } from './response-parser.js';

export const DEFAULT_ADMIN_TIMEOUT_MS = 5000;

export interface ValueWithTtl {
  readonly value: Buffer;
  /** Seconds left, or -1 when the item never expires (memcached's `t` flag). */
  readonly ttl: number;
}

/** The server's version string, e.g. `1.6.18`. */
export async function version(address: ServerAddress, timeoutMs = DEFAULT_ADMIN_TIMEOUT_MS): Promise<string> {
  let result = '';
  await exchange(address, Buffer.from('version\r\n'), timeoutMs, (r) => {
    if (r.kind !== 'VERSION') unexpected(address, r);
    result = r.version;
    return true;
  });
  return result;
}

/**
 * `stats [group]` as name → value strings (`evictions`, `store_no_memory`, `curr_items`,
 * `cmd_set`, `limit_maxbytes`, …). Group: `settings`, `items`, `slabs`, … or none.
 */
export async function stats(
  address: ServerAddress,
  timeoutMs = DEFAULT_ADMIN_TIMEOUT_MS,
  group?: string,
): Promise<Record<string, string>> {
  if (group !== undefined && !/^[a-z_]+$/.test(group)) throw new InvalidArgumentError(`bad stats group "${group}"`);
  const out: Record<string, string> = {};
  await exchange(address, Buffer.from(group ? `stats ${group}\r\n` : 'stats\r\n'), timeoutMs, (r) => {
    if (r.kind === 'END') return true;
    if (r.kind !== 'STAT') unexpected(address, r);
    out[r.name] = r.value;
    return false;
  });
  return out;
}

/** Each key's value, or null when memcached has no such item. */
export async function getMany(
  address: ServerAddress,
  keys: readonly string[],
  timeoutMs = DEFAULT_ADMIN_TIMEOUT_MS,
): Promise<Map<string, Buffer | null>> {
  const withTtl = await fetch(address, keys, timeoutMs, false);
  const out = new Map<string, Buffer | null>();
  for (const [k, v] of withTtl) out.set(k, v === null ? null : v.value);
  return out;
}

/** Like getMany, with each item's remaining TTL (`mg <key> v t`). */
export function getManyWithTtl(
  address: ServerAddress,
  keys: readonly string[],
  timeoutMs = DEFAULT_ADMIN_TIMEOUT_MS,
): Promise<Map<string, ValueWithTtl | null>> {
  return fetch(address, keys, timeoutMs, true);
}

/**
 * Each key's value given as raw bytes (a key need not be UTF-8: memcached takes any byte above
 * 0x20 but 0x7F), in the order asked; null when memcached has no such item.
 */
export async function getManyBytes(
  address: ServerAddress,
  keys: readonly Uint8Array[],
  timeoutMs = DEFAULT_ADMIN_TIMEOUT_MS,
): Promise<(Buffer | null)[]> {
  const out: (Buffer | null)[] = [];
  await fetchRaw(address, keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength)), timeoutMs, false, (_, v) =>
    out.push(v === null ? null : v.value),
  );
  return out;
}

async function fetch(
  address: ServerAddress,
  keys: readonly string[],
  timeoutMs: number,
  ttl: boolean,
): Promise<Map<string, ValueWithTtl | null>> {
  const unique = [...new Set(keys)];
  const out = new Map<string, ValueWithTtl | null>();
  await fetchRaw(address, unique.map((k) => Buffer.from(k, 'utf8')), timeoutMs, ttl, (i, v) => out.set(unique[i] as string, v));
  return out;
}

async function fetchRaw(
  address: ServerAddress,
  keys: readonly Buffer[],
  timeoutMs: number,
  ttl: boolean,
  onValue: (index: number, value: ValueWithTtl | null) => void,
): Promise<void> {
  if (keys.length === 0) return;
  const parts: Buffer[] = [];
  const suffix = Buffer.from(ttl ? ' v t\r\n' : ' v\r\n');
  const prefix = Buffer.from('mg ');
  for (const bytes of keys) {
    if (!isValidKey(bytes)) throw new InvalidArgumentError(`not a valid memcached key: ${JSON.stringify(bytes.toString('latin1'))}`);
    parts.push(prefix, bytes, suffix);
  }
  parts.push(Buffer.from('mn\r\n'));
  let i = 0;
  // Replies come in request order: one VA (hit) or EN (miss) per mg, then MN.
  await exchange(address, Buffer.concat(parts), timeoutMs, (r) => {
    if (r.kind === 'MN') {
      if (i !== keys.length) throw new ProtocolError(`${address.label}: MN after ${i} of ${keys.length} replies`, { server: address.label });
      return true;
    }
    if (i >= keys.length) unexpected(address, r);
    const index = i++;
    if (r.kind === 'EN') onValue(index, null);
    else if (r.kind === 'VA') onValue(index, { value: r.data, ttl: ttl ? ttlOf(address, r.flags) : -1 });
    else unexpected(address, r);
    return false;
  });
}

function ttlOf(address: ServerAddress, flags: readonly string[]): number {
  const t = flags.find((f) => f.startsWith('t'));
  const n = t === undefined ? NaN : Number(t.slice(1));
  if (!Number.isInteger(n)) throw new ProtocolError(`${address.label}: VA without a t flag: ${flags.join(' ')}`, { server: address.label });
  return n;
}

function unexpected(address: ServerAddress, r: Reply): never {
  const server = address.label;
  if (r.kind === 'SERVER_ERROR') throw new ServerError(`${server}: SERVER_ERROR ${r.message}`, { server });
  if (r.kind === 'CLIENT_ERROR') throw new ClientError(`${server}: CLIENT_ERROR ${r.message}`, { server });
  if (r.kind === 'ERROR') throw new ClientError(`${server}: ERROR ${r.message}`.trimEnd(), { server });
  throw new ProtocolError(`${server}: unexpected ${r.kind} reply`, { server });
}

/**
 * Sends `request`, feeds replies to `onReply` until it returns true, then closes.
 * `onReply` may throw to fail the exchange.
 */
function exchange(
  address: ServerAddress,
  request: Buffer,
  timeoutMs: number,
  onReply: (reply: Reply) => boolean,
): Promise<void> {
  const server = address.label;
  return new Promise<void>((resolve, reject) => {
    const parser = new ResponseParser({ server });
    const socket = netConnect({ host: address.host, port: address.port, noDelay: true });
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      timer.clear();
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    // The connection's own timer (conn-clock.ts): a stall of this process past the due time is
    // given back before judging, and the judgement waits for the next poll phase, so that a timer
    // firing late does not fail a connect or a reply that is already here, unread.
    const timer = new ConnTimer(() =>
      finish(
        socket.connecting
          ? new ConnectTimeoutError(`could not connect to ${server} within ${timeoutMs} ms`, { server })
          : new ResponseTimeoutError(`no complete reply from ${server} within ${timeoutMs} ms`, { server }),
      ),
    );
    timer.arm('response', timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.feed(chunk, (r) => {
          if (!settled && onReply(r)) finish();
        });
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.on('error', (err) => finish(new SocketError(`${server}: ${err.message}`, { server, cause: err })));
    socket.on('close', () => finish(new SocketError(`${server} closed the connection before answering`, { server })));
    // Not end(): memcached may drop a half-closed connection before answering everything.
    socket.write(request);
  });
}
