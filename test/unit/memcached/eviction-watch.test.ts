import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerAddress } from '../../../src/config/servers.js';
import { EvictionWatch, restarted, type CounterReading } from '../../../src/memcached/eviction-watch.js';
import { FakeServer } from '../../helpers/fake-server.js';

/** A fake memcached answering `stats` from `counters`, which the test changes between readings. */
async function statsServer(counters: { pid: number; uptime: number; evictions: number; store_no_memory: number }) {
  return FakeServer.start((cmd, conn) => {
    if (cmd.name === 'other' && cmd.line === 'stats') {
      conn.write(Object.entries(counters).map(([k, v]) => `STAT ${k} ${v}\r\n`).join('') + 'END\r\n');
    }
  });
}

describe('EvictionWatch', () => {
  it('reports the rise of evictions and store_no_memory since the previous reading, per server', async (t) => {
    const a = { pid: 10, uptime: 100, evictions: 5, store_no_memory: 0 };
    const b = { pid: 20, uptime: 100, evictions: 0, store_no_memory: 0 };
    const sa = await statsServer(a);
    const sb = await statsServer(b);
    t.after(() => Promise.all([sa.stop(), sb.stop()]));
    const watch = new EvictionWatch([sa.address, sb.address]);
    assert.deepEqual(await watch.read(1000), { evictions: {}, storeNoMemory: {}, unknown: {}, restarts: {}, lost: {}, skipped: [], unreachable: {} }, 'the baseline reports nothing');
    a.evictions = 12;
    a.store_no_memory = 3;
    a.uptime = 101;
    assert.deepEqual(await watch.read(1000), {
      evictions: { [sa.address.label]: 7 },
      storeNoMemory: { [sa.address.label]: 3 },
      unknown: {},
      restarts: {},
      lost: {},
      skipped: [],
      unreachable: {},
    });
    assert.deepEqual(await watch.read(1000), { evictions: {}, storeNoMemory: {}, unknown: {}, restarts: {}, lost: {}, skipped: [], unreachable: {} }, 'no rise, nothing to say');
  });

  it('a same-pid restart told by uptime alone is read again after a tick: a thawed server whose clock caught up is not restarted, a restarted one is', async (t) => {
    // memcached moves its uptime once a second on its event loop: read just after a SIGSTOP it
    // reports the uptime of before the freeze, which looks like a restart until its next tick.
    for (const caughtUp of [true, false]) {
      const c = { pid: 10, uptime: 100, evictions: 0, store_no_memory: 0 };
      const uptimes: number[] = [];
      const s = await FakeServer.start((cmd, conn) => {
        if (cmd.name === 'other' && cmd.line === 'stats') {
          const u = uptimes.shift() ?? c.uptime;
          conn.write(Object.entries({ ...c, uptime: u }).map(([k, v]) => `STAT ${k} ${v}\r\n`).join('') + 'END\r\n');
        }
      });
      t.after(() => s.stop());
      const watch = new EvictionWatch([s.address]);
      await watch.read(1000);
      // The next reading looks like a restart (uptime behind); the one after a tick decides.
      uptimes.push(97, caughtUp ? 101 : 98);
      const r = await watch.read(1000);
      if (caughtUp) assert.deepEqual(r.restarts, {}, 'the clock caught up: the same process');
      else assert.match(r.unknown[s.address.label] ?? '', /memcached restarted \(pid 10 kept, but up 98 s/, 'still behind after a tick: restarted');
      assert.equal(uptimes.length, 0, 'read twice');
    }
  });

  it('a restart (new pid) is an unknown rise that says the items are gone', async (t) => {
    const c = { pid: 10, uptime: 100, evictions: 50, store_no_memory: 0 };
    const s = await statsServer(c);
    t.after(() => s.stop());
    const watch = new EvictionWatch([s.address]);
    await watch.read(1000);
    c.pid = 11;
    c.uptime = 1;
    c.evictions = 0;
    const r = await watch.read(1000);
    assert.deepEqual(r.evictions, {});
    assert.match(r.unknown[s.address.label] ?? '', /memcached restarted \(pid 10 -> 11\): items stored before are gone/);
    const { startedAt, ...rest } = r.restarts[s.address.label]!;
    assert.deepEqual(rest, { previousPid: '10', pid: '11', uptime: 1, evidence: 'pid 10 -> 11' });
    assert.ok(Math.abs(startedAt - (performance.now() - 1000)) < 1500, 'its start, on our clock, from its uptime');
  });

  it('an unreadable server is unknown now and for the next reading; a skipped one is not even asked', async (t) => {
    const c = { pid: 10, uptime: 100, evictions: 0, store_no_memory: 0 };
    const s = await statsServer(c);
    t.after(() => s.stop());
    const dead: ServerAddress = { host: '127.0.0.1', port: 1, label: '127.0.0.1:1' };
    const watch = new EvictionWatch([s.address, dead]);
    const first = await watch.read(1000);
    assert.match(first.unknown['127.0.0.1:1'] ?? '', /could not read stats: .*127\.0\.0\.1:1/);
    const asked = s.commands.length;
    const second = await watch.read(1000, (server) => (server === s.address.label ? 'its connection is gone' : null));
    assert.equal(s.commands.length, asked, 'the skipped server got no request');
    assert.equal(second.unknown[s.address.label], 'its connection is gone');
    assert.deepEqual(second.skipped, [s.address.label], 'skipped, not unreadable');
    assert.match(second.unknown['127.0.0.1:1'] ?? '', /could not read stats/);
  });
});

describe('EvictionWatch across a failed reading', () => {
  it('keeps the last good reading: the rise, or a restart, behind a failed reading still shows up next time', async (t) => {
    const c = { pid: 10, uptime: 100, evictions: 1, store_no_memory: 0 };
    let failNext = false;
    const s = await FakeServer.start((cmd, conn) => {
      if (cmd.name !== 'other' || cmd.line !== 'stats') return;
      if (failNext) {
        failNext = false;
        conn.destroy();
        return;
      }
      conn.write(Object.entries(c).map(([k, v]) => `STAT ${k} ${v}\r\n`).join('') + 'END\r\n');
    });
    t.after(() => s.stop());
    const watch = new EvictionWatch([s.address]);
    await watch.read(1000);
    c.evictions = 4;
    failNext = true;
    assert.match((await watch.read(1000)).unknown[s.address.label] ?? '', /could not read stats/);
    c.evictions = 6;
    assert.deepEqual(await watch.read(1000), { evictions: { [s.address.label]: 5 }, storeNoMemory: {}, unknown: {}, restarts: {}, lost: {}, skipped: [], unreachable: {} }, '6 − 1');
    failNext = true;
    await watch.read(1000);
    c.pid = 11;
    c.evictions = 0;
    assert.match((await watch.read(1000)).unknown[s.address.label] ?? '', /memcached restarted \(pid 10 -> 11\)/);
  });
});

describe('restarted: is this reading a new process?', () => {
  const at = (seconds: number, pid: string, uptime: number): CounterReading => ({ pid, uptime, evictions: 0, storeNoMemory: 0, at: seconds * 1000 });

  it('the same process, read over minutes with uptime in 1 s steps, never counts as restarted', () => {
    // Started at t=1000.4 s, reporting ~2 s at start as memcached does.
    const uptime = (t: number) => Math.floor(t - 1000.4 + 2);
    const first = at(1001, '7', uptime(1001));
    for (const t of [1001.01, 1001.99, 1002.5, 1060, 4000]) assert.equal(restarted(first, at(t, '7', uptime(t)), undefined), null, `t=${t}`);
  });

  it('a changed pid is a restart', () => {
    assert.deepEqual(restarted(at(100, '7', 50), at(101, '8', 900), undefined), { previousPid: '7', pid: '8', uptime: 900, startedAt: 101_000 - 900_000, evidence: 'pid 7 -> 8' });
  });

  it('the same pid with less uptime than the time passed is a restart (a container keeps pid 1)', () => {
    const r = restarted(at(100, '1', 50), at(160, '1', 3), undefined);
    assert.equal(r?.previousPid, '1');
    assert.match(r?.evidence ?? '', /pid 1 kept, but up 3 s, 60 s after a reading of 50 s/);
    assert.notEqual(restarted(at(100, '1', 50), at(100.5, '1', 49), undefined), null, 'uptime going down');
    assert.equal(restarted(at(100, '1', 50), at(160, '1', 109), undefined), null, '1 s short is the step of uptime');
  });

  it('with no earlier reading, a server up for less time than since its first acknowledged write of this run restarted', () => {
    const r = restarted(undefined, at(200, '9', 5), 150_000);
    assert.deepEqual(r, { previousPid: null, pid: '9', uptime: 5, startedAt: 195_000, evidence: 'pid 9, up 5 s, yet it acknowledged a write of this run 50 s ago' });
  });

  it('with no earlier reading, a server that came up late and has been up since before its first ack did not', () => {
    assert.equal(restarted(undefined, at(200, '9', 52), 150_000), null);
    assert.equal(restarted(undefined, at(200, '9', 5), undefined), null, 'it acknowledged nothing: nothing to lose');
  });
});

describe('EvictionWatch: a server holding records of this run, in doubt (issue #18, item 5)', () => {
  const counters = { pid: 10, uptime: 100, evictions: 0, store_no_memory: 0 };
  /** A fake that drops the next `failures` stats requests, then answers. */
  async function flaky() {
    const state = { failures: 0, asked: 0 };
    const s = await FakeServer.start((cmd, conn) => {
      if (cmd.name !== 'other' || cmd.line !== 'stats') return;
      state.asked++;
      if (state.failures > 0) {
        state.failures--;
        conn.destroy();
        return;
      }
      conn.write(Object.entries(counters).map(([k, v]) => `STAT ${k} ${v}\r\n`).join('') + 'END\r\n');
    });
    return { s, state };
  }

  it('a reading that fails twice and then answers as the same process is no loss: one slow or dropped reply is not a restart', async (t) => {
    const { s, state } = await flaky();
    t.after(() => s.stop());
    const watch = new EvictionWatch([s.address]);
    await watch.read(1000);
    state.failures = 2;
    state.asked = 0;
    const r = await watch.read(1000, () => null, () => 0);
    assert.equal(state.asked, 3, 'read again until it answered');
    assert.deepEqual(r.lost, {});
    assert.deepEqual(r.restarts, {});
    assert.deepEqual(r.unknown, {});
  });

  it('a server that keeps refusing is lost once the attempts and the timeout are spent; without records of this run it is only unknown', async () => {
    const dead: ServerAddress = { host: '127.0.0.1', port: 1, label: '127.0.0.1:1' };
    const watch = new EvictionWatch([dead]);
    await watch.read(300);
    const t0 = performance.now();
    const r = await watch.read(300, () => null, () => 0);
    assert.ok(performance.now() - t0 >= 290, 'it kept trying for the timeout');
    assert.match(r.lost['127.0.0.1:1'] ?? '', /could not read stats: .*127\.0\.0\.1:1/);
    assert.equal(r.unknown['127.0.0.1:1'], r.lost['127.0.0.1:1']);
    assert.deepEqual(r.unreachable, {}, 'it was reached: it acknowledged records');
    const plain = await watch.read(300);
    assert.deepEqual(plain.lost, {});
    assert.match(plain.unknown['127.0.0.1:1'] ?? '', /could not read stats/);
  });

  it('is asked even when its lane was given up on: a dead server refuses connections', async (t) => {
    const { s, state } = await flaky();
    t.after(() => s.stop());
    const watch = new EvictionWatch([s.address]);
    await watch.read(1000);
    state.asked = 0;
    const r = await watch.read(1000, () => 'its connection is gone', () => 0);
    assert.equal(state.asked, 1);
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.unknown, {});
  });
});
