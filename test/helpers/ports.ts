/**
 * Ports for the servers the tests start, chosen outside the kernel's range of ephemeral ports.
 *
 * Why: every client connection takes its local port from that range, and the loader's reconnect
 * binds its old connection's local port again (the reconnect fence). A server that another test
 * process started on that very port, given to it by listen(0) from the same range, made that bind
 * fail (EADDRINUSE), which the connection rightly counts as a disconnect: a test counting
 * disconnects saw one too many (CI, sessions 11 and 13). Listening below the range, a test server
 * can never hold a port a client connection had. Two test processes may still pick the same
 * port; the helpers that start servers try another on a failed start, as they did before.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** The lowest port handed out here: above the well-known and common service ports. */
const FLOOR = 10_000;
/** Fewer free ports than this below the ephemeral range: use listen(0) as before. */
const LEAST_ROOM = 4096;

let range: { readonly low: number; readonly high: number } | null = null;

/** The kernel's ephemeral range, read once (Linux's default where it cannot be read). */
export function ephemeralRange(): { readonly low: number; readonly high: number } {
  return (range ??= readRange());
}

function readRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low: low as number, high: high as number };
  } catch {
    // Not Linux, or no /proc: the default below.
  }
  return { low: 32_768, high: 60_999 };
}

/** A random port below the ephemeral range, or 0 (let the kernel choose) where the range leaves no room. */
function candidate(): number {
  const { low } = ephemeralRange();
  if (low - FLOOR < LEAST_ROOM) return 0;
  return FLOOR + Math.floor(Math.random() * (low - FLOOR));
}

/** Listens `server` on `host`:`port`; rejects with the listen error (EADDRINUSE, say). */
export function listen(server: Server, port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Listens `server` on `host` at a port outside the ephemeral range, trying others while one is
 * taken; resolves to the port.
 */
export async function listenOutsideEphemeral(server: Server, host = '127.0.0.1'): Promise<number> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = candidate();
    try {
      await listen(server, port, host);
      const addr = server.address();
      return typeof addr === 'object' && addr !== null ? addr.port : port;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      lastErr = err;
    }
  }
  throw new Error('no free port outside the ephemeral range after 50 tries', { cause: lastErr });
}

/** A port that was free on `host` a moment ago, outside the ephemeral range (listened on, then closed). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  srv.unref();
  const port = await listenOutsideEphemeral(srv, host);
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
