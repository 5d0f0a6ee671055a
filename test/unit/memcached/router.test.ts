/**
 * The route stage against scripted servers: one lane per server, each lane's outcomes in its own
 * send order with their counts worked out once, a reconnect mid-batch resending in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router, type BatchSettled } from '../../../src/memcached/router.js';
import { batch, FAST, keysOf } from '../../helpers/connection-rig.js';
import { defaultReply, FakeServer } from '../../helpers/fake-server.js';

describe('Router (fake servers)', () => {
  it('keeps each lane in order across a connection dropped mid-batch, and counts each outcome once', async (t) => {
    const a = await FakeServer.start((cmd, conn) => {
      if (conn.index === 0 && cmd.name === 'ms' && cmd.key === 'b1k1') return conn.destroy();
      if (cmd.name === 'ms' && cmd.key === 'b2k0') return conn.write('SERVER_ERROR out of memory storing object\r\n');
      defaultReply(cmd, conn);
    });
    const b = await FakeServer.start();
    const settled: BatchSettled[] = [];
    const events: string[] = [];
    const router = new Router([a.address, b.address], FAST, {
      settled: (s) => settled.push(s),
      room: () => events.push('room'),
      up: (server) => events.push(`up ${server}`),
      lost: (server) => events.push(`lost ${server}`),
      gone: (server) => events.push(`gone ${server}`),
    });
    t.after(async () => {
      router.destroy();
      await a.stop();
      await b.stop();
    });
    for (let i = 0; i < 4; i++) {
      router.send(0, batch(i));
      router.send(1, batch(10 + i));
    }
    await a.waitFor(() => settled.length === 8, 3000, '8 outcomes');
    const lane = (server: string) => settled.filter((s) => s.server === server);
    assert.deepEqual(lane(a.address.label).map((s) => s.tag), [0, 1, 2, 3], 'lane a in send order');
    assert.deepEqual(lane(b.address.label).map((s) => s.tag), [10, 11, 12, 13], 'lane b in send order');
    assert.ok(settled.every((s) => s.delivered && s.latencySeconds !== null && s.latencySeconds >= 0));
    const refused = lane(a.address.label)[2] as BatchSettled;
    assert.deepEqual([refused.records, refused.loaded, refused.failed, refused.tooLarge], [3, 2, 1, 0]);
    assert.deepEqual(refused.failedByReason, { 'SERVER_ERROR out of memory storing object': 1 });
    assert.ok(events.includes(`lost ${a.address.label}`), events.join(', '));
    assert.equal(events.filter((e) => e === `up ${a.address.label}`).length, 2, 'a reconnected once');
    assert.deepEqual(a.connections[1]?.keys, [1, 2, 3].flatMap((i) => keysOf(i)), 'the resend starts at the unacknowledged batch');
    assert.deepEqual(router.bufferedBytes(), { [a.address.label]: 0, [b.address.label]: 0 });
  });

  it('a lane given up settles its batches as not delivered: every record failed, the error names the server', async (t) => {
    const a = await FakeServer.start();
    const address = a.address;
    await a.stop(); // nothing listens there any more
    const settled: BatchSettled[] = [];
    const gone: string[] = [];
    const router = new Router([address], { ...FAST, retries: 1 }, {
      settled: (s) => settled.push(s),
      room: () => {},
      up: () => {},
      lost: () => {},
      gone: (server) => gone.push(server),
    });
    t.after(() => router.destroy());
    router.send(0, batch(0));
    await router.close();
    assert.deepEqual(gone, [address.label]);
    const s = settled[0] as BatchSettled;
    assert.deepEqual([s.delivered, s.records, s.loaded, s.failed, s.latencySeconds], [false, 3, 0, 3, null]);
    assert.match(s.error?.message ?? '', new RegExp(address.label.replace(/\./g, '\\.')));
  });
});
