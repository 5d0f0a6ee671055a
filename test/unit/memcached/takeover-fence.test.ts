/**
 * The connection's part in the cluster's takeover fence (issue #18, item 2), against a scripted
 * server: the write gate (the old holder's lease) is asked before every write, resends included,
 * and once closed the socket is reset and nothing more is written; `fenceFirst` holds back the
 * first set while the server still lists an earlier holder's connection, and fails with the
 * connection named once the retry budget is spent; `beforeWrites` runs before the first set;
 * `onStats` is told the first socket's own `stats` and what it names is fenced the same way.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseExpiredError } from '../../../src/errors.js';
import type { ConnIdentity } from '../../../src/memcached/handshake.js';
import { defaultReply, type FakeCommand, type FakeConnection, type FakeServer } from '../../helpers/fake-server.js';
import { batch, keysOf, rig, tags } from '../../helpers/connection-rig.js';

type Cause = Error & { code?: string; cause?: Error & { code?: string } };

/** A gate that lets `n` bursts through, then closes for good. */
function gateAfter(n: number): { gate: () => Error | null; asked: () => number } {
  let asked = 0;
  return {
    gate: () => (++asked <= n ? null : new LeaseExpiredError('lease ran out (test)')),
    asked: () => asked,
  };
}

/** Another client's connection to the fake server, and its identity as the server lists it. */
async function foreign(server: FakeServer): Promise<{ socket: Socket; id: ConnIdentity }> {
  const before = server.connections.length;
  const socket = connect({ host: '127.0.0.1', port: server.port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  await server.waitFor(() => server.connections.length > before, 2000, 'the foreign connection');
  const c = server.connections[before]!;
  return { socket, id: { fd: String(100 + c.index), addr: c.peer, owner: 'apply F on N (worker pid 1 on h)' } };
}

describe('write gate (the old holder: nothing written past its lease)', () => {
  it('asks before each burst; once closed, the socket is reset and nothing more is written', async (t) => {
    const g = gateAfter(1);
    // Acknowledge batch 0 only once batch 1 is queued, so batch 1 is written in a burst of its own.
    const r = await rig(t, defaultReply, { writeGate: g.gate, maxInFlightBatches: 1 });
    r.conn.send(batch(0));
    r.conn.send(batch(1));
    r.conn.send(batch(2));
    await r.until(3);
    assert.deepEqual(tags(r.outcomes), [0, 1, 2]);
    assert.deepEqual(r.outcomes.map((o) => o.delivered), [true, false, false], 'only the batch written before the gate closed is delivered');
    const err = r.outcomes[1]?.error as Cause;
    assert.equal(err.code, 'MCL_ERR_DESTROYED');
    assert.equal(err.cause?.code, 'MCL_ERR_LEASE');
    const [first] = r.server.connections;
    await r.server.waitFor(() => first!.closed, 2000, 'the socket closed');
    assert.equal(first?.reset, true, 'an RST: the kernel sends nothing more of it');
    assert.deepEqual(r.server.connections.flatMap((c) => c.keys), keysOf(0), 'no set of a batch after the gate closed');
    assert.equal(r.server.connections.length, 1, 'and no reconnect');
    assert.ok(g.asked() >= 2);
  });

  it('gates the resend after a reconnect too', async (t) => {
    let open = true;
    // The first socket's fences stall: its batches are unacknowledged when the gate closes.
    const r = await rig(
      t,
      (cmd, conn) => {
        if (conn.index === 0 && cmd.name === 'mn') return;
        defaultReply(cmd, conn);
      },
      { responseTimeoutMs: 100, writeGate: () => (open ? null : new LeaseExpiredError('lease ran out (test)')) },
    );
    r.conn.send(batch(0));
    r.conn.send(batch(1));
    await r.server.waitFor(() => r.server.connections[0]?.keys.length === 6, 2000, 'both batches on the first socket');
    open = false; // the lease runs out while they wait for their MN
    await r.until(2, 5000);
    assert.deepEqual(r.outcomes.map((o) => o.delivered), [false, false]);
    assert.equal((r.outcomes[0]?.error as Cause).cause?.code, 'MCL_ERR_LEASE');
    for (const c of r.server.connections.slice(1)) assert.deepEqual(c.keys, [], `socket ${c.index}: nothing resent`);
    assert.ok(r.server.connections.length >= 2, 'the timeout did reconnect (the resend was the gate\'s to stop)');
  });

  it('with no gate, nothing changes: every batch is written and acknowledged', async (t) => {
    const r = await rig(t);
    for (let i = 0; i < 5; i++) r.conn.send(batch(i));
    await r.until(5);
    assert.ok(r.outcomes.every((o) => o.delivered));
  });
});

describe('fenceFirst (the new holder: nothing written while an earlier holder is listed)', () => {
  it('holds back the first set while the server lists the earlier connection, then writes once it is gone', async (t) => {
    const r0 = await rig(t);
    const other = await foreign(r0.server);
    t.after(() => other.socket.destroy());
    const seen: (ConnIdentity | null)[] = [];
    const { conn, server, outcomes } = await rigOn(t, r0.server, { fenceFirst: [other.id], responseTimeoutMs: 2000, beforeWrites: async (self) => void seen.push(self) });
    conn.send(batch(0));
    await server.waitFor(() => server.connections.length >= 2, 2000, 'our socket');
    await sleep(150);
    assert.deepEqual(server.connections[1]!.keys, [], 'no set while the earlier holder is listed');
    assert.equal(seen.length, 0, 'beforeWrites waits for the fence too');
    other.socket.destroy();
    await server.waitFor(() => outcomes.length === 1, 3000, 'the batch');
    assert.equal(outcomes[0]?.delivered, true);
    assert.deepEqual(server.connections[1]!.keys, keysOf(0));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.addr, server.connections[1]!.peer, 'beforeWrites is told the socket as the server lists it');
  });

  it('still listed after the retry budget: the batches fail, the fence and the earlier holder named; nothing written', async (t) => {
    const r0 = await rig(t);
    const other = await foreign(r0.server);
    t.after(() => other.socket.destroy());
    const { server, conn, outcomes } = await rigOn(t, r0.server, { fenceFirst: [other.id], responseTimeoutMs: 100, retries: 2 });
    conn.send(batch(0));
    await server.waitFor(() => outcomes.length === 1, 5000, 'the batch settled');
    assert.equal(outcomes[0]?.delivered, false);
    const err = outcomes[0]?.error as Cause;
    assert.equal(err.code, 'MCL_ERR_SERVER_GONE');
    assert.equal(err.cause?.code, 'MCL_ERR_FENCE');
    assert.match(err.message, /still holds the connection of apply F on N \(worker pid 1 on h\), tcp:127\.0\.0\.1:\d+ \(fd 100\)/);
    for (const c of server.connections.slice(1)) assert.deepEqual(c.keys, [], `socket ${c.index} sent no set`);
  });

  it('an earlier holder whose identity was never known cannot be fenced: fails at once, nothing written', async (t) => {
    const { server, conn, outcomes } = await rigOn(t, null, { fenceFirst: [null], retries: 1 });
    conn.send(batch(0));
    await server.waitFor(() => outcomes.length === 1, 5000, 'the batch settled');
    assert.equal(outcomes[0]?.delivered, false);
    assert.equal((outcomes[0]?.error as Cause).cause?.code, 'MCL_ERR_FENCE');
    assert.deepEqual(server.commands.filter((c) => c.name === 'ms'), []);
  });

  it('a beforeWrites that rejects fails the socket before any set', async (t) => {
    let calls = 0;
    const { server, conn, outcomes } = await rigOn(t, null, {
      retries: 1,
      beforeWrites: async () => {
        calls++;
        throw new Error('redis said no');
      },
    });
    conn.send(batch(0));
    await server.waitFor(() => outcomes.length === 1, 5000, 'the batch settled');
    assert.equal(outcomes[0]?.delivered, false);
    assert.match((outcomes[0]?.error as Cause).message, /redis said no/);
    assert.ok(calls >= 1);
    assert.deepEqual(server.commands.filter((c) => c.name === 'ms'), []);
  });
});

/** defaultReply, and a plain `stats` answered as memcached would, in part. */
const withStats = (cmd: FakeCommand, conn: FakeConnection): void => {
  if (cmd.name === 'other' && cmd.line === 'stats') conn.write(`STAT pid 7\r\nSTAT uptime ${10 + conn.index}\r\nEND\r\n`);
  else defaultReply(cmd, conn);
};

describe('onStats and stats() (the cluster\'s apply: its node\'s counters over its own connection, issue #18 item 1)', () => {
  it('the first socket asks `stats` first; the sockets onStats names are fenced before any set', async (t) => {
    const r0 = await rig(t, withStats);
    const other = await foreign(r0.server);
    t.after(() => other.socket.destroy());
    const told: (Readonly<Record<string, string>> | null)[] = [];
    const { conn, server, outcomes } = await rigOn(t, r0.server, {
      responseTimeoutMs: 2000,
      onStats: async (stats) => {
        told.push(stats);
        await sleep(50); // Redis, read after the reply
        return [other.id];
      },
    });
    conn.send(batch(0));
    await server.waitFor(() => told.length === 1, 2000, 'onStats');
    // The server's second socket (the foreign one is its first) answers uptime 11.
    assert.deepEqual(told[0], { pid: '7', uptime: '11' }, 'told the reply of the socket\'s own `stats`');
    await sleep(200);
    assert.deepEqual(server.connections[1]!.keys, [], 'no set while the socket onStats named is listed');
    other.socket.destroy();
    await server.waitFor(() => outcomes.length === 1, 3000, 'the batch');
    assert.equal(outcomes[0]?.delivered, true);
    assert.deepEqual(server.connections[1]!.commands.filter((c) => c.name === 'other').map((c) => (c as { line: string }).line), ['stats'], '`stats` once, before the handshake');
    assert.equal(told.length, 1);
  });

  it('stats() asks over the open socket once everything has settled; null while batches are queued', async (t) => {
    const r = await rig(t, withStats, { onStats: async () => [] });
    r.conn.send(batch(0));
    assert.equal(r.conn.stats(), null, 'not while a batch is queued');
    await r.until(1);
    const asked = r.conn.stats();
    assert.ok(asked !== null);
    assert.deepEqual(await asked, { pid: '7', uptime: '10' });
    assert.equal(r.server.connections.length, 1, 'no other socket');
    await r.conn.close();
  });

  it('a socket lost while stats() waits rejects it', async (t) => {
    const r = await rig(t, (cmd, conn) => {
      if (cmd.name === 'other' && cmd.line === 'stats') conn.socket.destroy();
      else defaultReply(cmd, conn);
    });
    r.conn.send(batch(0));
    await r.until(1);
    const asked = r.conn.stats();
    assert.ok(asked !== null);
    await assert.rejects(asked);
  });
});

describe('nextJob (a connection kept across a worker\'s files: each job fenced, recorded and gated on its own, issue #18 item 1)', () => {
  it('the idle socket takes the next job: `stats` and `stats conns` over it, no new handshake; the earlier holder fenced and the socket recorded again before the job\'s first set', async (t) => {
    const recorded: (ConnIdentity | null)[] = [];
    const told: (Readonly<Record<string, string>> | null)[] = [];
    const r = await rig(t, withStats, { responseTimeoutMs: 2000, onStats: async (s) => (told.push(s), []), beforeWrites: async (self) => void recorded.push(self) });
    r.conn.send(batch(0));
    await r.until(1);
    const other = await foreign(r.server);
    t.after(() => other.socket.destroy());
    const ours = r.server.connections[0]!;
    assert.ok(r.conn.nextJob({ onStats: async (s) => (told.push(s), [other.id]), beforeWrites: async (self) => void recorded.push(self) }));
    r.conn.send(batch(1));
    await r.server.waitFor(() => told.length === 2, 2000, 'the second job\'s onStats');
    await sleep(150);
    assert.deepEqual(ours.keys, keysOf(0), 'no set of the new job while the earlier holder is listed');
    assert.equal(recorded.length, 1, 'nor its record: that waits for the fence');
    other.socket.destroy();
    await r.until(2);
    assert.equal(r.outcomes[1]?.delivered, true);
    assert.deepEqual(ours.keys, [...keysOf(0), ...keysOf(1)]);
    assert.equal(r.server.connections.length, 2, 'one socket of ours (the other is the foreign one)');
    assert.equal(ours.asked.settings, 1, '`stats settings` once: no second handshake');
    assert.ok(ours.asked.conns >= 2, 'the fence polled `stats conns` on the open socket');
    assert.deepEqual(ours.commands.filter((c) => c.name === 'other').map((c) => (c as { line: string }).line), ['stats', 'stats'], 'a `stats` per job');
    assert.equal(recorded.length, 2, 'recorded again under the new job');
    assert.equal(recorded[1]?.addr, ours.peer, 'as the server lists it');
    assert.equal(r.conn.reconnects, 0);
  });

  it('each job writes under its own gate: the last job\'s, closed after it ended, does not stop the next; the next\'s, closed, stops it', async (t) => {
    let firstOpen = true;
    const r = await rig(t, defaultReply, { writeGate: () => (firstOpen ? null : new LeaseExpiredError('job 1 lease ran out (test)')) });
    r.conn.send(batch(0));
    await r.until(1);
    firstOpen = false;
    assert.ok(r.conn.nextJob({ writeGate: () => null }));
    r.conn.send(batch(1));
    await r.until(2);
    assert.equal(r.outcomes[1]?.delivered, true, 'job 2 is not held to job 1\'s lease');
    assert.ok(r.conn.nextJob({ writeGate: () => new LeaseExpiredError('job 3 lease ran out (test)') }));
    r.conn.send(batch(2));
    await r.until(3);
    assert.equal(r.outcomes[2]?.delivered, false);
    assert.equal((r.outcomes[2]?.error as Cause).cause?.code, 'MCL_ERR_LEASE', 'job 3 is held to its own lease, not job 2\'s');
    assert.deepEqual(r.server.connections.flatMap((c) => c.keys), [...keysOf(0), ...keysOf(1)]);
    assert.equal(r.server.connections.length, 1);
  });

  it('a record refused for the next job fails its socket before any set of it', async (t) => {
    const r = await rig(t, defaultReply, { retries: 1 });
    r.conn.send(batch(0));
    await r.until(1);
    assert.ok(r.conn.nextJob({ beforeWrites: async () => Promise.reject(new Error('the lock is another\'s (test)')) }));
    r.conn.send(batch(1));
    await r.until(2, 5000);
    assert.equal(r.outcomes[1]?.delivered, false);
    assert.deepEqual(r.server.connections.flatMap((c) => c.keys), keysOf(0), 'nothing of the job whose record was refused');
  });

  it('only an open, idle socket is handed on', async (t) => {
    const r = await rig(t);
    assert.equal(r.conn.nextJob({}), false, 'no socket yet');
    r.conn.send(batch(0));
    assert.equal(r.conn.nextJob({}), false, 'a batch queued');
    await r.until(1);
    assert.equal(r.conn.nextJob({}), true);
    await r.conn.close();
    assert.equal(r.conn.nextJob({}), false, 'closed');
  });
});

/** A second connection on `server` (or a fresh server), with the options under test. */
async function rigOn(t: Parameters<typeof rig>[0], server: FakeServer | null, opts: Parameters<typeof rig>[2]) {
  if (server === null) {
    const r = await rig(t, defaultReply, opts);
    return { server: r.server, conn: r.conn, outcomes: r.outcomes };
  }
  const r = await rig(t, defaultReply, opts, server.address);
  // rig started a server of its own; ours is the one asked
  return { server, conn: r.conn, outcomes: r.outcomes };
}
