import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Batch, BatchOutcome } from '../../../src/memcached/batch.js';
import { MemcachedConnection, type ConnectionOptions } from '../../../src/memcached/connection.js';
import { getMany, getManyWithTtl, stats, version } from '../../../src/memcached/admin.js';
import type { ServerAddress } from '../../../src/config/servers.js';
import { refusedAddress, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { TcpForwarder } from '../../helpers/tcp-forwarder.js';

/** `ms <key> <len> q[ T<ttl>]` frames + `mn`, built here so these tests don't depend on encode.ts. */
function batch(tag: number, records: readonly (readonly [string, Buffer])[], ttl = 0): Batch {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    parts.push(Buffer.from(`ms ${key} ${value.length} q${ttl ? ` T${ttl}` : ''}\r\n`), value, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('mn\r\n'));
  return { buf: Buffer.concat(parts), records: records.length, tag };
}

/** Sends every batch respecting backpressure; resolves with the outcomes once all settled. */
async function load(conn: MemcachedConnection, outcomes: BatchOutcome[], batches: readonly Batch[]): Promise<void> {
  const target = outcomes.length + batches.length;
  for (const b of batches) {
    if (!conn.send(b)) await new Promise((resolve) => conn.once('drain', resolve));
  }
  while (outcomes.length < target) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Random keyed workload where keys repeat across batches: the expected map keeps the last write. */
function workload(prefix: string, nBatches: number, perBatch: number, keySpace: number, maxValue = 600) {
  const expected = new Map<string, Buffer>();
  const batches: Batch[] = [];
  for (let t = 0; t < nBatches; t++) {
    const records: [string, Buffer][] = [];
    for (let i = 0; i < perBatch; i++) {
      const key = `${prefix}:${Math.floor(Math.random() * keySpace)}`;
      // Binary values, CRLF and "mn\r\n" included: the length prefix must carry them.
      const value = Buffer.concat([randomBytes(Math.floor(Math.random() * maxValue)), Buffer.from(`\r\nmn\r\n${t}`)]);
      records.push([key, value]);
      expected.set(key, value);
    }
    batches.push(batch(t, records));
  }
  return { batches, expected };
}

async function assertStored(address: ServerAddress, expected: Map<string, Buffer | null>): Promise<void> {
  const got = await getMany(address, [...expected.keys()], 10_000);
  let mismatches = 0;
  for (const [key, value] of expected) {
    const actual = got.get(key);
    if (value === null ? actual !== null : !(actual && actual.equals(value))) mismatches++;
  }
  assert.equal(mismatches, 0, `${mismatches} of ${expected.size} keys differ`);
}

function open(address: ServerAddress, opts: ConnectionOptions = {}) {
  const outcomes: BatchOutcome[] = [];
  const conn = new MemcachedConnection(address, opts, (o) => outcomes.push(o));
  const disconnects: Error[] = [];
  conn.on('disconnect', (err: Error) => disconnects.push(err));
  return { conn, outcomes, disconnects };
}

const inOrder = (outcomes: readonly BatchOutcome[]) => outcomes.every((o, i) => o.batch.tag === i);

describe('MemcachedConnection against real memcached', { concurrency: true }, () => {
  let servers: MemcachedHandle[] = [];
  const conns: MemcachedConnection[] = [];
  const forwarders: TcpForwarder[] = [];
  const server = (i: number): MemcachedHandle => servers[i] as MemcachedHandle;

  before(async () => {
    servers = await startServers(5, { memoryMb: 64 });
  });
  after(async () => {
    for (const c of conns) c.destroy();
    await Promise.all(forwarders.map((f) => f.stop()));
    await stopAll();
  });

  it('stores many pipelined batches; every key reads back byte for byte, last write wins', async () => {
    const { conn, outcomes, disconnects } = open(server(0).address, { maxBufferedBytes: 256 * 1024, maxInFlightBatches: 8 });
    conns.push(conn);
    const { batches, expected } = workload('many', 300, 50, 5000);
    await load(conn, outcomes, batches);
    assert.ok(inOrder(outcomes));
    assert.ok(outcomes.every((o) => o.delivered && o.failed === 0 && o.tooLarge === 0));
    assert.equal(disconnects.length, 0);
    await assertStored(server(0).address, expected);
    const s = await stats(server(0).address, 2000);
    assert.ok(Number(s['cmd_set']) >= 300 * 50, `cmd_set=${s['cmd_set']}`);
    await conn.close();
    assert.equal(conn.state, 'closed');
  });

  it('counts a value over the item size limit as tooLarge and stays aligned', async () => {
    const { conn, outcomes } = open(server(1).address);
    conns.push(conn);
    const big = Buffer.alloc(1024 * 1024 + 100, 0x62); // default -I is 1 MiB
    const small = (n: number) => Buffer.from(`small-${n}\r\n`);
    const batches = [
      batch(0, [['tl:a', small(0)], ['tl:big', big], ['tl:b', small(1)]]),
      batch(1, [['tl:c', small(2)], ['tl:big2', big]]),
      batch(2, [['tl:d', small(3)]]),
    ];
    await load(conn, outcomes, batches);
    assert.ok(inOrder(outcomes));
    assert.deepEqual(
      outcomes.map((o) => [o.delivered, o.tooLarge, o.failed]),
      [
        [true, 1, 0],
        [true, 1, 0],
        [true, 0, 0],
      ],
    );
    await assertStored(
      server(1).address,
      new Map<string, Buffer | null>([
        ['tl:a', small(0)],
        ['tl:b', small(1)],
        ['tl:c', small(2)],
        ['tl:d', small(3)],
        ['tl:big', null],
        ['tl:big2', null],
      ]),
    );
    await conn.close();
  });

  it('rides out a 2 s SIGSTOP without a reconnect or a lost record', async () => {
    const { conn, outcomes, disconnects } = open(server(2).address, { maxBufferedBytes: 512 * 1024 });
    conns.push(conn);
    const { batches, expected } = workload('stop', 200, 40, 3000);
    let pausedAt = 0;
    let resumedAt = 0;
    let inFlightAtPause = 0;
    // Freeze once 30 batches are acknowledged, with more on the wire.
    const timer = setInterval(() => {
      if (pausedAt !== 0 || outcomes.length < 30) return;
      clearInterval(timer);
      pausedAt = performance.now();
      server(2).pause();
      inFlightAtPause = conn.inFlightBatches;
      setTimeout(() => {
        resumedAt = performance.now();
        server(2).resume();
      }, 2000);
    }, 1);
    await load(conn, outcomes, batches);
    const finishedAt = performance.now();
    clearInterval(timer);
    assert.ok(pausedAt > 0 && resumedAt - pausedAt >= 1900, 'the server was frozen mid-load');
    assert.ok(inFlightAtPause > 0, 'batches were on the wire when it froze');
    assert.ok(finishedAt > resumedAt, 'the load waited for the server to thaw');
    assert.ok(inOrder(outcomes));
    assert.ok(outcomes.every((o) => o.delivered && o.failed === 0));
    assert.equal(disconnects.length, 0, 'a 2 s freeze is below the response timeout');
    await assertStored(server(2).address, expected);
    await conn.close();
  });

  it('recovers from connections cut mid-stream: all delivered, values correct', async () => {
    const fwd = new TcpForwarder(server(3).address);
    forwarders.push(fwd);
    await fwd.start();
    const { conn, outcomes, disconnects } = open(fwd.address, { maxBufferedBytes: 256 * 1024, retryBaseDelayMs: 20 });
    conns.push(conn);
    const { batches, expected } = workload('cut', 300, 40, 2000);
    // Cut while batches are on the wire: after 40 and 150 acknowledgements.
    let cuts = 0;
    const timer = setInterval(() => {
      if ((cuts === 0 && outcomes.length >= 40) || (cuts === 1 && outcomes.length >= 150)) cuts += fwd.cutAll() > 0 ? 1 : 0;
    }, 1);
    try {
      await load(conn, outcomes, batches);
    } finally {
      clearInterval(timer);
    }
    assert.equal(cuts, 2);
    assert.ok(disconnects.length >= 2);
    assert.ok(conn.reconnects >= 2);
    assert.ok(inOrder(outcomes));
    assert.ok(outcomes.every((o) => o.delivered && o.failed === 0));
    await assertStored(server(3).address, expected);
    await conn.close();
  });

  it('gives up on a server that never started, in bounded time, naming it (default options)', async () => {
    const address = await refusedAddress();
    const { conn, outcomes } = open(address);
    conns.push(conn);
    const started = performance.now();
    conn.send(batch(0, [['x', Buffer.from('1')]]));
    conn.send(batch(1, [['y', Buffer.from('2')]]));
    await conn.close();
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds > 5 && seconds < 15, `gave up after ${seconds.toFixed(1)} s`);
    assert.deepEqual(
      outcomes.map((o) => [o.batch.tag, o.delivered, o.failed]),
      [
        [0, false, 1],
        [1, false, 1],
      ],
    );
    const err = outcomes[0]?.error as Error & { code?: string };
    assert.equal(err.code, 'MCL_ERR_SERVER_GONE');
    assert.match(err.message, new RegExp(address.label.replace(/\./g, '\\.')));
  });

  it('admin helpers: version, stats, getManyWithTtl; errors name the server', async () => {
    const address = server(4).address;
    assert.match(await version(address, 2000), /^1\.6\./);
    const s = await stats(address, 2000);
    for (const name of ['evictions', 'curr_items', 'cmd_set', 'limit_maxbytes']) assert.ok(name in s, name);
    assert.equal((await stats(address, 2000, 'settings'))['item_size_max'], String(1024 * 1024));
    const { conn, outcomes } = open(address);
    conns.push(conn);
    await load(conn, outcomes, [batch(0, [['ttl:a', Buffer.from('A')]], 100), batch(1, [['ttl:b', Buffer.from('B')]])]);
    const got = await getManyWithTtl(address, ['ttl:a', 'ttl:b', 'ttl:none', 'ttl:a'], 2000);
    assert.equal(got.size, 3);
    const a = got.get('ttl:a');
    assert.ok(a && a.value.equals(Buffer.from('A')) && a.ttl > 90 && a.ttl <= 100, `ttl ${a?.ttl}`);
    assert.equal(got.get('ttl:b')?.ttl, -1);
    assert.equal(got.get('ttl:none'), null);
    await assert.rejects(getMany(address, ['bad key'], 2000), { code: 'MCL_ERR_INVALID_ARG' });
    const refused = await refusedAddress();
    await assert.rejects(version(refused, 1000), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MCL_ERR_SOCKET');
      assert.match(err.message, new RegExp(refused.label.replace(/\./g, '\\.')));
      return true;
    });
    await conn.close();
  });
});
