/**
 * A worker's node connections kept from one apply to the next (cluster/kept-conn.ts), against a
 * scripted server: handed to one taker with the same options, closed when unused for a while,
 * dropped when their socket is lost, closed at the worker's stop.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeptConnections, type KeptConnection } from '../../../src/cluster/kept-conn.js';
import { NodeCounters } from '../../../src/cluster/node-counters.js';
import { batch, rig, type Rig } from '../../helpers/connection-rig.js';

async function connected(t: Parameters<typeof rig>[0]): Promise<{ r: Rig; kept: KeptConnection }> {
  const r = await rig(t);
  r.conn.send(batch(0));
  await r.until(1);
  return { r, kept: { conn: r.conn, counters: new NodeCounters(r.server.address, 1000), route: { to: () => {} }, fingerprint: 'f' } };
}

describe('KeptConnections', () => {
  it('hands the connection to the next taker with the same options, once', async (t) => {
    const { r, kept } = await connected(t);
    const keep = new KeptConnections(60_000);
    keep.give('n', kept);
    assert.equal(keep.take('n', 'f'), kept);
    assert.equal(keep.take('n', 'f'), null, 'taken: no longer kept');
    assert.equal(r.conn.state, 'connected');
  });

  it('other options: not handed on, and closed', async (t) => {
    const { r, kept } = await connected(t);
    const keep = new KeptConnections(60_000);
    keep.give('n', kept);
    assert.equal(keep.take('n', 'g'), null);
    await r.server.waitFor(() => r.server.connections[0]!.closed, 2000, 'the socket closed');
  });

  it('closes a connection unused for its idle time', async (t) => {
    const { r, kept } = await connected(t);
    const keep = new KeptConnections(50);
    keep.give('n', kept);
    await r.server.waitFor(() => r.server.connections[0]!.closed, 2000, 'the idle socket closed');
    assert.equal(keep.size, 0);
    assert.equal(keep.take('n', 'f'), null);
  });

  it('drops a connection whose socket was lost (a node restart): the next apply connects anew', async (t) => {
    const { r, kept } = await connected(t);
    const keep = new KeptConnections(60_000);
    keep.give('n', kept);
    r.server.connections[0]!.socket.destroy();
    await r.server.waitFor(() => keep.size === 0, 2000, 'dropped');
    assert.equal(keep.take('n', 'f'), null);
  });

  it('close() closes every kept connection', async (t) => {
    const a = await connected(t);
    const b = await connected(t);
    const keep = new KeptConnections(60_000);
    keep.give('a', a.kept);
    keep.give('b', b.kept);
    await keep.close();
    assert.equal(keep.size, 0);
    assert.equal(a.r.conn.state, 'closed');
    assert.equal(b.r.conn.state, 'closed');
  });

  it('after close(), a connection given back (an apply that outlived the stop) is closed, not kept', async (t) => {
    const { r, kept } = await connected(t);
    const keep = new KeptConnections(60_000);
    await keep.close();
    keep.give('n', kept);
    assert.equal(keep.size, 0);
    await r.server.waitFor(() => r.server.connections[0]!.closed, 2000, 'the socket closed');
  });
});
