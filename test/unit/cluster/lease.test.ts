/**
 * The old holder's lease (cluster/lease.ts, issue #18 item 2): the gate closes at the lease's
 * end, a lock seen as another's ends it at once, the background renewal keeps a lease that is
 * still held, and `onLost` runs once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseWatch } from '../../../src/cluster/lease.js';

/** A guard whose lock is held while `held` says so, granting `ms` of lease per read. */
function guard(ms: number) {
  const g = {
    held: true,
    reads: 0,
    until: -Infinity,
    async stillOwner() {
      g.reads++;
      const asked = performance.now();
      await sleep(1);
      if (!g.held) return false;
      g.until = asked + ms;
      return true;
    },
    leaseUntil: () => g.until,
  };
  return g;
}

describe('LeaseWatch', () => {
  it('no lease before the first read: the gate is closed', () => {
    const lost: Error[] = [];
    const w = new LeaseWatch(guard(100), 'apply F on N', (e) => lost.push(e));
    assert.equal(w.gate()?.name, 'LeaseExpiredError');
    assert.equal(lost.length, 1);
  });

  it('renewed in the background while held: the gate stays open past the first lease', async () => {
    const g = guard(120);
    const lost: Error[] = [];
    const w = new LeaseWatch(g, 'apply F on N', (e) => lost.push(e));
    assert.equal(await w.renew(), true);
    await sleep(400);
    assert.equal(w.gate(), null, `open after 400 ms of a 120 ms lease (${g.reads} reads)`);
    assert.ok(g.reads >= 4, `renewed in the background (${g.reads} reads)`);
    w.stop();
    assert.equal(lost.length, 0);
  });

  it('a lease not renewed (a paused loop, Redis away) closes the gate at its end, and onLost runs once', async () => {
    const g = guard(80);
    const lost: Error[] = [];
    const w = new LeaseWatch(g, 'apply F on N', (e) => lost.push(e));
    assert.equal(await w.renew(), true);
    g.stillOwner = () => new Promise(() => {}); // the read never comes back
    assert.equal(w.gate(), null);
    await sleep(150);
    assert.equal(lost.length, 1, 'onLost by the timer, not only when a write asks');
    assert.equal(lost[0]?.message, "apply F on N: this worker's lease ran out (its lock was last confirmed too long ago; paused, or cut off from Redis?): it writes nothing more");
    assert.equal((w.gate() as Error & { code?: string }).code, 'MCL_ERR_LEASE');
    assert.equal(lost.length, 1);
  });

  it('a lock seen as another\'s ends the lease at once, for good', async () => {
    const g = guard(10_000);
    const lost: Error[] = [];
    const w = new LeaseWatch(g, 'apply F on N', (e) => lost.push(e));
    assert.equal(await w.renew(), true);
    g.held = false;
    assert.equal(await w.renew(), false);
    assert.match(lost[0]?.message ?? '', /lock on the job is gone or another's/);
    g.held = true;
    assert.equal(await w.renew(), false, 'a later read saying it is ours again does not reopen it');
    assert.notEqual(w.gate(), null);
    assert.equal(lost.length, 1);
  });
});
