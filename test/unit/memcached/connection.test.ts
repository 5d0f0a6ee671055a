import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultReply, type FakeConnection } from '../../helpers/fake-server.js';
import { refusedAddress } from '../../helpers/memcached.js';
import { MemcachedConnection } from '../../../src/memcached/connection.js';
import { batch, FAST, keysOf, rig, tags, type Rig } from '../../helpers/connection-rig.js';
import { stall } from '../../helpers/stall-probe.js';

describe('MemcachedConnection (fake server)', () => {
  it('delivers pipelined batches with outcomes in send order', async (t) => {
    let outstanding = 0;
    let maxOutstanding = 0;
    const r = await rig(
      t,
      (cmd, conn) => {
        if (cmd.name !== 'mn') return;
        maxOutstanding = Math.max(maxOutstanding, ++outstanding);
        setTimeout(() => {
          outstanding--;
          conn.write('MN\r\n');
        }, 2);
      },
      { maxInFlightBatches: 4 },
    );
    for (let i = 0; i < 30; i++) assert.equal(r.conn.send(batch(i)), true);
    await r.until(30);
    assert.deepEqual(tags(r.outcomes), Array.from({ length: 30 }, (_, i) => i));
    for (const o of r.outcomes) assert.deepEqual([o.delivered, o.failed, o.tooLarge, o.failures.length], [true, 0, 0, 0]);
    assert.deepEqual(r.server.connections[0]?.keys, Array.from({ length: 30 }, (_, i) => keysOf(i)).flat());
    assert.ok(maxOutstanding > 1 && maxOutstanding <= 4, `in flight at once: ${maxOutstanding}`);
    assert.equal(r.conn.inFlightBatches, 0);
    assert.equal(r.conn.bufferedBytes, 0);
    assert.equal(r.conn.state, 'connected');
  });

  it('charges each error reply to its own batch, too large apart', async (t) => {
    const answers: Record<string, string> = {
      b1k2: 'SERVER_ERROR out of memory storing object',
      b3k0: 'CLIENT_ERROR bad data chunk',
      b3k1: 'NS',
      b4k0: 'SERVER_ERROR object too large for cache',
    };
    const r = await rig(t, (cmd, conn) => {
      if (cmd.name === 'ms' && answers[cmd.key]) conn.write(`${answers[cmd.key]}\r\n`);
      defaultReply(cmd, conn);
    });
    for (let i = 0; i < 6; i++) r.conn.send(batch(i));
    await r.until(6);
    assert.deepEqual(tags(r.outcomes), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(
      r.outcomes.map((o) => [o.failed, o.tooLarge]),
      [[0, 0], [1, 0], [0, 0], [2, 0], [0, 1], [0, 0]],
    );
    assert.deepEqual(r.outcomes[1]?.failures, [{ kind: 'SERVER_ERROR', message: 'out of memory storing object' }]);
    assert.deepEqual(r.outcomes[3]?.failures, [
      { kind: 'CLIENT_ERROR', message: 'bad data chunk' },
      { kind: 'NS', message: '' },
    ]);
    assert.deepEqual(r.outcomes[4]?.failures, []);
    assert.deepEqual(
      r.outcomes.map((o) => o.failedByReason),
      [{}, { 'SERVER_ERROR out of memory storing object': 1 }, {}, { 'CLIENT_ERROR bad data chunk': 1, NS: 1 }, {}, {}],
      'failures by reason, too large apart',
    );
    assert.ok(r.outcomes.every((o) => o.delivered));
  });

  it('caps the failure list and never counts more failures than records', async (t) => {
    const r = await rig(t, (cmd, conn) => {
      // A bad key: CLIENT_ERROR, then ERROR for the value line read as a command.
      if (cmd.name === 'ms') conn.write('CLIENT_ERROR bad command line format\r\nERROR\r\n');
      defaultReply(cmd, conn);
    });
    r.conn.send(batch(0, 12));
    await r.until(1);
    assert.equal(r.outcomes[0]?.failed, 12);
    assert.equal(r.outcomes[0]?.failures.length, 10);
    assert.deepEqual(r.outcomes[0]?.failedByReason, { 'CLIENT_ERROR bad command line format': 12 }, 'reasons sum to failed');
  });

  it('returns false at maxBufferedBytes and emits drain once below it', async (t) => {
    const held: FakeConnection[] = [];
    const r = await rig(t, (cmd, conn) => void (cmd.name === 'mn' && held.push(conn)));
    const size = batch(0).buf.byteLength;
    const conn = new MemcachedConnection(r.server.address, { ...FAST, maxBufferedBytes: size * 3 + 1, responseTimeoutMs: 5000 }, (o) =>
      r.outcomes.push(o),
    );
    t.after(() => conn.destroy());
    let drains = 0;
    conn.on('drain', () => drains++);
    assert.deepEqual([0, 1, 2, 3].map((i) => conn.send(batch(i))), [true, true, true, false]);
    assert.equal(conn.bufferedBytes, size * 4);
    await r.server.waitFor(() => held.length === 4, 2000, '4 fences');
    assert.equal(drains, 0);
    assert.equal(conn.inFlightBatches, 4);
    held[0]?.write('MN\r\n');
    await r.until(1);
    assert.equal(drains, 1, 'below the limit again after one ack');
    assert.equal(conn.send(batch(4)), false, 'full again');
    held[0]?.write('MN\r\n');
    await r.until(2);
    assert.equal(drains, 2);
    held[0]?.write('MN\r\nMN\r\nMN\r\n');
    await r.until(5);
    assert.equal(drains, 2, 'drain only follows a false');
    assert.deepEqual(tags(r.outcomes), [0, 1, 2, 3, 4]);
    assert.equal(conn.bufferedBytes, 0);
  });

  // A loaded machine stalls this process: its timers then fire late, in the same turn of the event
  // loop that has the connect or the reply waiting unread. The stall here is made on purpose, by a
  // synchronous wait three times the timeout, after the server's socket has done its part.
  it('does not take its own stall for a connect timeout: the connect that completed meanwhile counts', async (t) => {
    const r = await rig(t, defaultReply, { connectTimeoutMs: 100 });
    r.conn.send(batch(0));
    await new Promise((resolve) => setImmediate(resolve)); // net.connect issues the connect on a later tick
    stall(300);
    await r.until(1);
    assert.deepEqual(r.disconnects, []);
    assert.equal(r.outcomes[0]?.delivered, true);
    assert.equal(r.connects, 1);
  });

  it('does not take its own stall for a response timeout: the reply sent in time counts', async (t) => {
    let stalled = false;
    const r = await rig(t, (cmd, conn) => {
      defaultReply(cmd, conn);
      // MN is on its way to the loader (loopback) before this process stalls past its timeout.
      if (cmd.name !== 'mn' || stalled) return;
      stalled = true;
      stall(3 * (FAST.responseTimeoutMs ?? 0));
    });
    r.conn.send(batch(0));
    await r.until(1);
    assert.ok(stalled, 'the stall was made');
    assert.deepEqual(r.disconnects, []);
    assert.equal(r.outcomes[0]?.delivered, true);
  });

  it('on response timeout reconnects and resends unacked batches in order, before newer ones', async (t) => {
    // The reconnect binds the old connection's local port again (the reconnect fence). Test
    // servers no longer listen in the ephemeral range (helpers/ports.ts), but on a machine running
    // other tests at once another process's outgoing connection can still be given that port
    // meanwhile: the bind then fails (EADDRINUSE) and the connection, as designed, counts a
    // disconnect and takes any port next time. That is the environment, not a second stall, and
    // this test counts exactly one: it says so and sets the scenario up again.
    const portTaken = (e: Error) => {
      const cause = (e as { cause?: NodeJS.ErrnoException }).cause;
      return cause?.code === 'EADDRINUSE' && cause.syscall === 'bind';
    };
    let r: Rig | undefined;
    for (let attempt = 1; attempt <= 3; attempt++) {
      let fences = 0;
      r = await rig(
        t,
        (cmd, conn) => {
          if (conn.index === 0 && cmd.name === 'mn' && ++fences > 2) return; // stall after two
          defaultReply(cmd, conn);
        },
        // A timeout long enough that a loaded machine's event-loop pause is not taken for a
        // second stall: the test counts exactly one. The stall on the first connection is for
        // good, so any timeout makes it; 600 ms still saw a second one once, in CI's Node 24 run
        // with the fault suites beside it (the fake server answers on this same event loop).
        { maxInFlightBatches: 3, responseTimeoutMs: 2000 },
      );
      const cur = r;
      cur.conn.once('disconnect', () => {
        cur.conn.send(batch(6));
        cur.conn.send(batch(7));
      });
      for (let i = 0; i < 6; i++) cur.conn.send(batch(i));
      await cur.until(8);
      const taken = cur.disconnects.find(portTaken);
      if (taken === undefined) break;
      t.diagnostic(`attempt ${attempt}: the old local port was taken by another process before the reconnect bound it again (${taken.message}); setting the scenario up again`);
      assert.ok(attempt < 3, 'the old local port was taken in 3 attempts running: no judgement can be made here');
    }
    assert.ok(r !== undefined);
    assert.deepEqual(tags(r.outcomes), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(r.outcomes.every((o) => o.delivered && o.failed === 0));
    assert.equal(r.disconnects.length, 1, `disconnects: ${r.disconnects.map((e) => `${(e as { code?: string }).code}: ${e.message}`).join(' | ')}`);
    assert.equal((r.disconnects[0] as { code?: string }).code, 'MCL_ERR_RESPONSE_TIMEOUT');
    assert.match(r.disconnects[0]?.message ?? '', new RegExp(r.server.address.label));
    assert.deepEqual(r.server.connections[0]?.keys, [0, 1, 2, 3, 4].flatMap((i) => keysOf(i)));
    assert.deepEqual(r.server.connections[1]?.keys, [2, 3, 4, 5, 6, 7].flatMap((i) => keysOf(i)));
    assert.equal(r.connects, 2);
    assert.equal(r.conn.reconnects, 1);
  });

  it('survives half a reply line then a close, forgetting what was charged', async (t) => {
    const r = await rig(t, (cmd, conn) => {
      if (conn.index === 0 && cmd.name === 'ms' && cmd.key === 'b0k1') conn.write('SERVER_ERROR out of memory storing object\r\n');
      if (conn.index === 0 && cmd.name === 'mn') {
        conn.write('SERVER_ERROR out of mem');
        setTimeout(() => conn.destroy(), 20);
        return;
      }
      defaultReply(cmd, conn);
    });
    r.conn.send(batch(0));
    r.conn.send(batch(1));
    await r.until(2);
    assert.deepEqual(tags(r.outcomes), [0, 1]);
    assert.deepEqual(
      r.outcomes.map((o) => [o.delivered, o.failed, o.failures.length]),
      [
        [true, 0, 0],
        [true, 0, 0],
      ],
    );
    assert.equal((r.disconnects[0] as { code?: string }).code, 'MCL_ERR_SOCKET');
    assert.equal(r.server.connections.length, 2);
  });

  it('resends a batch the server dropped the connection in the middle of', async (t) => {
    const r = await rig(t, (cmd, conn) => {
      if (conn.index === 0 && cmd.name === 'ms' && cmd.key === 'b1k1') return conn.destroy();
      defaultReply(cmd, conn);
    });
    for (let i = 0; i < 3; i++) r.conn.send(batch(i));
    await r.until(3);
    assert.deepEqual(tags(r.outcomes), [0, 1, 2]);
    assert.ok(r.outcomes.every((o) => o.delivered));
    assert.deepEqual(r.server.connections[1]?.keys, [1, 2].flatMap((i) => keysOf(i)));
  });

  it('treats an unparseable reply as a protocol error: reconnect and resend', async (t) => {
    const r = await rig(t, (cmd, conn) => {
      if (conn.index === 0 && cmd.name === 'mn') return conn.write('BOGUS reply\r\n');
      defaultReply(cmd, conn);
    });
    r.conn.send(batch(0));
    await r.until(1);
    assert.equal(r.outcomes[0]?.delivered, true);
    assert.equal((r.disconnects[0] as { code?: string }).code, 'MCL_ERR_PROTOCOL');
  });

  it('gives up after the retry budget with ServerGoneError naming host:port; later sends fail fast in order', async (t) => {
    const dead = await refusedAddress();
    const r = await rig(t, defaultReply, { retries: 3 }, dead);
    const gone: Error[] = [];
    r.conn.on('gone', (err: Error) => gone.push(err));
    const started = performance.now();
    r.conn.send(batch(0));
    r.conn.send(batch(1));
    await r.until(2);
    assert.ok(performance.now() - started < 2000);
    assert.equal(gone.length, 1);
    assert.equal(r.disconnects.length, 1, 'one disconnect per outage, not per attempt');
    for (const o of r.outcomes) {
      assert.equal(o.delivered, false);
      assert.equal(o.failed, o.batch.records);
      assert.deepEqual(o.failedByReason, { MCL_ERR_SERVER_GONE: o.batch.records });
      assert.equal(o.error, gone[0]);
    }
    const err = gone[0] as Error & { code?: string; server?: string; cause?: { code?: string } };
    assert.equal(err.code, 'MCL_ERR_SERVER_GONE');
    assert.equal(err.server, dead.label);
    // Never reached: said as such, with the errno (issue #12).
    assert.match(err.message, new RegExp(`could not connect to memcached ${dead.label} after 4 attempt\\(s\\) over [\\d.]+ s \\(ECONNREFUSED\\)`));
    assert.equal(err.cause?.code, 'MCL_ERR_SOCKET');
    assert.match(err.message, /ECONNREFUSED/);
    assert.equal(r.conn.state, 'gone');

    assert.equal(r.conn.send(batch(2)), true);
    assert.equal(r.conn.send(batch(3)), true);
    assert.equal(r.outcomes.length, 2, 'settled asynchronously');
    await r.until(4, 100);
    assert.deepEqual(tags(r.outcomes), [0, 1, 2, 3]);
    assert.ok(r.outcomes.slice(2).every((o) => !o.delivered && o.error === gone[0]));
    await r.conn.close();
  });

  it('gives up when an outage outlasts giveUpAfterMs, whatever the attempts left', async (t) => {
    const dead = await refusedAddress();
    const r = await rig(t, defaultReply, { retries: 1000, retryBaseDelayMs: 20, retryMaxDelayMs: 20, giveUpAfterMs: 300 }, dead);
    const started = performance.now();
    r.conn.send(batch(0));
    await r.until(1);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 280 && elapsed < 1500, `gave up after ${elapsed} ms`);
    assert.equal((r.outcomes[0]?.error as { code?: string }).code, 'MCL_ERR_SERVER_GONE');
  });

  it('resets the retry budget once a reconnect gets an MN', async (t) => {
    const r = await rig(
      t,
      (cmd, conn) => {
        // Every connection acknowledges one batch, then dies at the next one.
        if (cmd.name === 'ms' && conn.commands.some((c) => c.name === 'mn')) return conn.destroy();
        defaultReply(cmd, conn);
      },
      { retries: 1 },
    );
    for (let i = 0; i < 6; i++) r.conn.send(batch(i));
    await r.until(6);
    assert.ok(r.outcomes.every((o) => o.delivered));
    assert.deepEqual(tags(r.outcomes), [0, 1, 2, 3, 4, 5]);
    assert.ok(r.server.connections.length >= 6);
  });

  it('does not spend the budget on an idle connection the server closed', async (t) => {
    const r = await rig(
      t,
      (cmd, conn) => {
        defaultReply(cmd, conn);
        if (conn.index === 0 && cmd.name === 'mn') conn.close();
      },
      { retries: 0 },
    );
    r.conn.send(batch(0));
    await r.until(1);
    await r.server.waitFor(() => r.disconnects.length === 1, 2000, 'disconnect');
    assert.equal(r.conn.state, 'idle');
    r.conn.send(batch(1));
    await r.until(2);
    assert.equal(r.outcomes[1]?.delivered, true);
  });

  it('times out even while its own writes are backed up, once they stop moving', async (t) => {
    const r = await rig(t, () => {}, { retries: 0, responseTimeoutMs: 150 });
    r.server.script = () => {};
    const big = batch(0, 1, Buffer.alloc(32 * 1024 * 1024, 0x61));
    const started = performance.now();
    r.conn.once('connect', () => r.server.connections[0]?.socket.pause()); // the server stops reading
    r.conn.send(big);
    await r.until(1, 5000);
    assert.equal(r.outcomes[0]?.delivered, false);
    assert.equal((r.disconnects[0] as { code?: string }).code, 'MCL_ERR_RESPONSE_TIMEOUT');
    assert.ok(performance.now() - started < 3000);
  });

  it('close() waits for every outcome, then closes the socket; later sends settle as closed', async (t) => {
    const r = await rig(t, (cmd, conn) => {
      if (cmd.name === 'mn') setTimeout(() => conn.write('MN\r\n'), 10);
    });
    for (let i = 0; i < 5; i++) r.conn.send(batch(i));
    await r.conn.close();
    assert.deepEqual(tags(r.outcomes), [0, 1, 2, 3, 4]);
    assert.equal(r.conn.state, 'closed');
    await r.server.waitFor(() => r.server.connections[0]?.closed === true, 2000, 'server side closed');
    r.conn.send(batch(5));
    await r.until(6);
    assert.equal(r.outcomes[5]?.delivered, false);
    assert.equal((r.outcomes[5]?.error as { code?: string }).code, 'MCL_ERR_CLOSED');
  });

  it('close() of a connection that never sent resolves at once', async (t) => {
    const r = await rig(t);
    await r.conn.close();
    assert.equal(r.server.connections.length, 0, 'connects lazily');
  });

  it('refuses a batch without its mn fence', async (t) => {
    const r = await rig(t);
    assert.throws(() => r.conn.send({ buf: Buffer.from('ms k 1 q\r\nx\r\n'), records: 1, tag: 0 }), { code: 'MCL_ERR_INVALID_ARG' });
    assert.equal(r.conn.bufferedBytes, 0);
  });

  it('destroy() fails everything at once', async (t) => {
    const r = await rig(t, () => {});
    for (let i = 0; i < 3; i++) r.conn.send(batch(i));
    await r.server.waitFor(() => r.server.commands.length > 0, 2000, 'writes');
    r.conn.destroy(new Error('boom'));
    assert.deepEqual(tags(r.outcomes), [0, 1, 2]);
    for (const o of r.outcomes) {
      assert.equal(o.delivered, false);
      assert.equal((o.error as { code?: string }).code, 'MCL_ERR_DESTROYED');
      assert.match(o.error?.message ?? '', /boom/);
    }
    assert.equal(r.conn.state, 'destroyed');
    await r.conn.close();
  });
});
