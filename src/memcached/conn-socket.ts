/**
 * A load connection's sockets: how one is opened (from the port of the last socket we reset,
 * see `Rebind`), how one is dropped (RST), how their errors are named, and the trace points
 * (NODE_DEBUG=memc-load; diagnostics channels memc-load:connection:{connecting,connect,
 * disconnect,backoff,gone}). connection.ts decides when; this is how.
 */
import { channel } from 'node:diagnostics_channel';
import { connect as netConnect, type Socket } from 'node:net';
import { debuglog } from 'node:util';
import type { ServerAddress } from '../config/servers.js';
import { DestroyedError, InvalidArgumentError, MemcLoadError, SocketError } from '../errors.js';
import type { Batch } from './batch.js';

export const debug = debuglog('memc-load');
const channels = {
  connecting: channel('memc-load:connection:connecting'),
  connect: channel('memc-load:connection:connect'),
  disconnect: channel('memc-load:connection:disconnect'),
  backoff: channel('memc-load:connection:backoff'),
  gone: channel('memc-load:connection:gone'),
};

/** The connection's trace points: a debuglog line each, and a diagnostics channel message when someone listens. */
export const trace = {
  connecting(server: string, attempts: number, localPort: number | null): void {
    debug('%s connecting (attempt %d%s)', server, attempts, localPort === null ? '' : ` from port ${localPort}`);
    if (channels.connecting.hasSubscribers) channels.connecting.publish({ server, attempts, localPort });
  },
  connect(server: string, attempts: number): void {
    debug('%s connected', server);
    if (channels.connect.hasSubscribers) channels.connect.publish({ server, attempts });
  },
  disconnect(server: string, error: Error, inFlight: number, pending: number): void {
    debug('%s disconnected (%d in flight, %d pending): %s', server, inFlight, pending, error.message);
    if (channels.disconnect.hasSubscribers) channels.disconnect.publish({ server, error, inFlight, pending });
  },
  backoff(server: string, delayMs: number, attempts: number, retries: number): void {
    debug('%s reconnecting in %d ms (attempt %d/%d)', server, delayMs, attempts, retries);
    if (channels.backoff.hasSubscribers) channels.backoff.publish({ server, delayMs, attempts, retries });
  },
  gone(server: string, error: Error): void {
    debug('%s gone: %s', server, error.message);
    if (channels.gone.hasSubscribers) channels.gone.publish({ server, error });
  },
};

/**
 * Where the last socket we reset was bound. Connecting again from the same address and port
 * makes a server that still holds the old connection (its RST was lost in a partition) answer
 * the new SYN with a challenge ACK; our kernel, knowing no such connection, resets it (RFC 5961,
 * 4.2), so the server lets the old one go and the fence can pass.
 */
export type Rebind = { readonly address: string; readonly port: number } | null;

export interface SocketEvents {
  connect(): void;
  data(chunk: Buffer): void;
  drain(): void;
  /** Already named (`socketError`); `portTaken`: the old port is taken by now, the next attempt takes any port. */
  error(err: Error, portTaken: boolean): void;
  close(): void;
}

export function openSocket(address: ServerAddress, rebind: Rebind, on: SocketEvents): Socket {
  const bind = rebind === null ? {} : { localAddress: rebind.address, localPort: rebind.port };
  const socket = netConnect({ host: address.host, port: address.port, noDelay: true, keepAlive: true, ...bind });
  socket.on('connect', on.connect);
  socket.on('data', on.data);
  socket.on('drain', on.drain);
  socket.on('error', (err: NodeJS.ErrnoException) => on.error(socketError(address.label, err), err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL'));
  socket.on('close', on.close);
  return socket;
}

/** Where `socket` is bound, to connect the next one from there; null while unknown. */
export function boundAt(socket: Socket): Rebind {
  return socket.localAddress !== undefined && socket.localPort !== undefined ? { address: socket.localAddress, port: socket.localPort } : null;
}

/**
 * Drops a socket with an RST (SO_LINGER 0): its unsent bytes are discarded instead of being
 * retransmitted to the server after we have moved on (a graceful close keeps sending them).
 */
export function abandon(socket: Socket): void {
  if (socket.connecting || socket.destroyed) socket.destroy();
  else socket.resetAndDestroy();
}

/** Ends a socket we close: our FIN is enough, not the server's (a frozen server would never send it). */
export function endSocket(socket: Socket | null, ended: () => void): void {
  if (socket === null) ended();
  else if (socket.connecting) socket.destroy();
  else socket.end(() => socket.destroy());
}

export function destroyedError(label: string, cause: Error | undefined): MemcLoadError {
  return new DestroyedError(`connection to ${label} destroyed${cause ? `: ${cause.message}` : ''}`, { server: label, cause });
}

/** The server closed the socket (or it ended without a cause we know). */
export function closedByPeer(label: string, midReply: boolean): MemcLoadError {
  return new SocketError(`${label} closed the connection${midReply ? ' in the middle of a reply' : ''}`, { server: label });
}

export function socketError(label: string, err: Error): Error {
  if (err instanceof MemcLoadError) return err;
  return new SocketError(`${label}: ${err.message}`, { server: label, cause: err });
}

/**
 * Without its `mn` a batch would never be acknowledged, and every later MN would be charged to
 * the wrong batch: such a batch is refused outright.
 */
export function checkFenced(batch: Batch, label: string): void {
  const { buf } = batch;
  const n = buf.byteLength;
  if (n < 4 || buf[n - 4] !== 0x6d || buf[n - 3] !== 0x6e || buf[n - 2] !== 0x0d || buf[n - 1] !== 0x0a) {
    throw new InvalidArgumentError(`a batch for ${label} must end with mn\\r\\n`, { server: label });
  }
}

/**
 * Lets the server drop a connection we reset while our host was cut off from it. Its RST was
 * lost, and memcached (no idle timeout by default) lists such a connection for as long as it has
 * nothing to send on it, so the node's next writer, waiting for it to go (the takeover fence),
 * would fail every file until memcached restarted. Connecting again from the same address and
 * port makes the server answer the SYN with a challenge ACK that our kernel resets (RFC 5961
 * 4.2), as the reconnect fence does; a probe that connects is reset at once and writes nothing.
 * Tried every few seconds until it gets through, the server refuses (down or restarted: it holds
 * no connection then), or `untilMs` (performance.now()) passes. Never keeps the process alive.
 */
export async function releaseAbandoned(address: ServerAddress, from: NonNullable<Rebind>, untilMs: number): Promise<boolean> {
  while (performance.now() < untilMs) {
    const outcome = await new Promise<'through' | 'refused' | 'again'>((done) => {
      const socket = netConnect({ host: address.host, port: address.port, localAddress: from.address, localPort: from.port });
      socket.unref();
      const timer = setTimeout(() => (socket.destroy(), done('again')), 2000).unref();
      socket.on('connect', () => (clearTimeout(timer), socket.resetAndDestroy(), done('through')));
      socket.on('error', (err: NodeJS.ErrnoException) => (clearTimeout(timer), done(err.code === 'ECONNREFUSED' ? 'refused' : 'again')));
    });
    debug('%s: release of the reset connection from %s:%d: %s', address.label, from.address, from.port, outcome);
    if (outcome !== 'again') return outcome === 'through';
    await new Promise((r) => setTimeout(r, 500).unref());
  }
  return false;
}

/** Where a connection listed by `stats conns` (`tcp:1.2.3.4:5678`, `tcp6:[::1]:5678`) is bound on our side. */
export function listedAt(addr: string): NonNullable<Rebind> | null {
  const m = /^(?:[a-z0-9]+:)?\[?([^\]]+?)\]?:(\d+)$/.exec(addr);
  return m === null ? null : { address: m[1] as string, port: Number(m[2]) };
}
