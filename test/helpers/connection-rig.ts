/**
 * A MemcachedConnection against a FakeServer, for the connection's unit tests: batches built here
 * (not by encode.ts), fast timeouts, outcomes and events collected, both torn down after the test.
 */
import type { TestContext } from 'node:test';
import type { Batch, BatchOutcome } from '../../src/memcached/batch.js';
import { MemcachedConnection, type ConnectionOptions } from '../../src/memcached/connection.js';
import type { ServerAddress } from '../../src/config/servers.js';
import { FakeServer, defaultReply, type Script } from './fake-server.js';

/** `ms <key> <len> q` frames + `mn`, built here so these tests don't depend on encode.ts. */
export function batch(tag: number, records = 3, value: string | Buffer = `value-${tag}`): Batch {
  const parts: Buffer[] = [];
  for (let i = 0; i < records; i++) {
    const v = Buffer.from(value);
    parts.push(Buffer.from(`ms b${tag}k${i} ${v.length} q\r\n`), v, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('mn\r\n'));
  return { buf: Buffer.concat(parts), records, tag };
}
export const keysOf = (tag: number, records = 3): string[] => Array.from({ length: records }, (_, i) => `b${tag}k${i}`);

export const FAST: ConnectionOptions = {
  connectTimeoutMs: 500,
  responseTimeoutMs: 150,
  retries: 3,
  retryBaseDelayMs: 10,
  retryMaxDelayMs: 40,
  random: () => 0.5,
};

export interface Rig {
  server: FakeServer;
  conn: MemcachedConnection;
  outcomes: BatchOutcome[];
  disconnects: Error[];
  connects: number;
  until(n: number, timeoutMs?: number): Promise<void>;
}

export async function rig(t: TestContext, script: Script = defaultReply, opts: ConnectionOptions = {}, address?: ServerAddress): Promise<Rig> {
  const server = await FakeServer.start(script);
  const outcomes: BatchOutcome[] = [];
  const conn = new MemcachedConnection(address ?? server.address, { ...FAST, ...opts }, (o) => outcomes.push(o));
  const r: Rig = {
    server,
    conn,
    outcomes,
    disconnects: [],
    connects: 0,
    until: (n, timeoutMs = 3000) => server.waitFor(() => outcomes.length >= n, timeoutMs, `${n} outcomes (have ${outcomes.length})`),
  };
  conn.on('disconnect', (err: Error) => r.disconnects.push(err));
  conn.on('connect', () => r.connects++);
  t.after(async () => {
    conn.destroy();
    await server.stop();
  });
  return r;
}

export const tags = (os: readonly BatchOutcome[]): number[] => os.map((o) => o.batch.tag);
