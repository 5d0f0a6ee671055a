/**
 * The connection's handshake against a scripted server (issue #10): an abandoned socket is reset,
 * nothing is resent while the server still lists it, the next socket comes from its port, and
 * records over the server's item size never leave the client.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Batch } from '../../../src/memcached/batch.js';
import { defaultReply } from '../../helpers/fake-server.js';
import { batch, keysOf, rig, tags } from '../../helpers/connection-rig.js';

/** Stalls every `mn` of the first connection: its batches time out unacknowledged. */
const stallFirst = (cmd: Parameters<typeof defaultReply>[0], conn: Parameters<typeof defaultReply>[1]) => {
  if (conn.index === 0 && cmd.name === 'mn') return;
  defaultReply(cmd, conn);
};

describe('reconnect fence (fake server)', () => {
  it('resets a socket abandoned with writes unacknowledged, and reconnects from its port', async (t) => {
    const attempts: { localPort: number | null }[] = [];
    const onConnecting = (m: unknown) => attempts.push(m as { localPort: number | null });
    subscribe('memc-load:connection:connecting', onConnecting);
    t.after(() => unsubscribe('memc-load:connection:connecting', onConnecting));
    const r = await rig(t, stallFirst);
    for (let i = 0; i < 3; i++) r.conn.send(batch(i));
    await r.until(3);
    assert.deepEqual(tags(r.outcomes), [0, 1, 2]);
    assert.ok(r.outcomes.every((o) => o.delivered));
    const [first, second] = r.server.connections;
    assert.equal(first?.reset, true, 'an RST, so the kernel drops what it has not sent yet');
    // Another process may take the freed port first (tests run in parallel): then the bind fails
    // and the next attempt takes any port. What is certain is that the port was asked for.
    assert.deepEqual(
      attempts.map((a) => a.localPort),
      [null, first?.socket.remotePort, ...attempts.slice(2).map(() => null)],
      'the reconnect asks for the old port',
    );
    if (attempts.length === 2) assert.equal(second?.socket.remotePort, first?.socket.remotePort, 'the next socket is bound to the old port');
    assert.deepEqual(r.server.connections.at(-1)?.keys, [0, 1, 2].flatMap((i) => keysOf(i)));
  });

  it('writes nothing on the new socket while the server still lists the abandoned one, then resends in order', async (t) => {
    const r = await rig(t, stallFirst, { responseTimeoutMs: 150 });
    r.server.listClosed = true; // the server has not let go of the old socket yet
    for (let i = 0; i < 3; i++) r.conn.send(batch(i));
    await r.server.waitFor(() => r.server.connections.length >= 2, 3000, 'a second socket');
    await sleep(100); // well within the fence's time (responseTimeoutMs)
    assert.deepEqual(r.server.connections[1]?.keys, [], 'no set before the fence passes');
    assert.equal(r.outcomes.length, 0);
    r.server.listClosed = false;
    await r.until(3);
    assert.deepEqual(tags(r.outcomes), [0, 1, 2]);
    assert.ok(r.outcomes.every((o) => o.delivered && o.failed === 0));
    assert.deepEqual(r.server.connections.at(-1)?.keys, [0, 1, 2].flatMap((i) => keysOf(i)));
  });

  it('a fence that never passes fails the batches, not delivered, with the fence named; nothing was resent', async (t) => {
    const r = await rig(t, stallFirst, { responseTimeoutMs: 100, retries: 2 });
    r.server.listClosed = true;
    for (let i = 0; i < 2; i++) r.conn.send(batch(i));
    await r.until(2, 5000);
    assert.deepEqual(
      r.outcomes.map((o) => [o.batch.tag, o.delivered]),
      [
        [0, false],
        [1, false],
      ],
    );
    const err = r.outcomes[0]?.error as Error & { code?: string; cause?: Error & { code?: string } };
    assert.equal(err.code, 'MCL_ERR_SERVER_GONE');
    assert.equal(err.cause?.code, 'MCL_ERR_FENCE');
    assert.match(err.message, /still holds the abandoned connection tcp:127\.0\.0\.1:\d+ \(fd 100\)/);
    for (const c of r.server.connections.slice(1)) assert.deepEqual(c.keys, [], `socket ${c.index} sent no set`);
  });

  it('an idle socket the server closed needs no fence: nothing of it was unacknowledged', async (t) => {
    const r = await rig(t);
    r.conn.send(batch(0));
    await r.until(1);
    r.server.listClosed = true; // would block a fence, if one were (wrongly) required
    r.server.connections[0]?.destroy();
    await sleep(20);
    r.conn.send(batch(1));
    await r.until(2);
    assert.deepEqual(tags(r.outcomes), [0, 1]);
    assert.ok(r.outcomes.every((o) => o.delivered));
  });
});

describe('records over the item size (fake server)', () => {
  /** One batch: records with values of the given sizes, keys `big<i>` (4 bytes). */
  function sized(tag: number, sizes: readonly number[]): Batch {
    const parts: Buffer[] = [];
    sizes.forEach((n, i) => parts.push(Buffer.from(`ms big${i} ${n} q\r\n`), Buffer.alloc(n, 0x61), Buffer.from('\r\n')));
    parts.push(Buffer.from('mn\r\n'));
    return { buf: Buffer.concat(parts), records: sizes.length, tag };
  }

  it('never sends a record the server would refuse (and unlink): it counts as too large', async (t) => {
    const r = await rig(t);
    r.server.itemSizeMax = 2048; // key + value may be 2048 - 59 = 1989 bytes
    r.conn.send(sized(0, [10, 1985, 1986, 3000, 20]));
    await r.until(1);
    const o = r.outcomes[0];
    assert.equal(o?.delivered, true);
    assert.equal(o?.tooLarge, 2);
    assert.equal(o?.failed, 0);
    assert.deepEqual(r.server.connections[0]?.keys, ['big0', 'big1', 'big4'], 'the 1989-byte item is sent, 1990 and more are not');
  });

  it('leaves a batch of small records as it is', async (t) => {
    const r = await rig(t);
    r.conn.send(batch(0));
    await r.until(1);
    assert.equal(r.outcomes[0]?.tooLarge, 0);
    assert.deepEqual(r.server.connections[0]?.keys, keysOf(0));
  });
});
