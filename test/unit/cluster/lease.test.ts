/**
 * The old holder's lease (cluster/lease.ts, issue #18 item 2): the gate closes at the lease's
 * end, a lock seen as another's ends it at once, the background renewal keeps a lease that is
 * still held, and `onLost` runs once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseWatch } from '../../../src/cluster/lease.js';
import { stallProbe } from '../../helpers/stall-probe.js';

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

/**
 * Leases tried in turn: each doubles the last, for when a run's set-up was undone by a stall of
 * this process (stallProbe): a lease renewed at half its time left is only as good as the
 * scheduler, and such a run says nothing about LeaseWatch.
 */
const LEASES = (first: number) => [first, 2 * first, 4 * first, 8 * first, 16 * first];

describe('LeaseWatch', () => {
  it('no lease before the first read: the gate is closed', () => {
    const lost: Error[] = [];
    const w = new LeaseWatch(guard(100), 'apply F on N', (e) => lost.push(e));
    assert.equal(w.gate()?.name, 'LeaseExpiredError');
    assert.equal(lost.length, 1);
  });

  it('renewed in the background while held: the gate stays open past the first lease', async (t) => {
    for (const ms of LEASES(120)) {
      const stalled = stallProbe();
      const g = guard(ms);
      const lost: Error[] = [];
      const w = new LeaseWatch(g, 'apply F on N', (e) => lost.push(e));
      const renewed = await w.renew();
      await sleep((10 * ms) / 3);
      const open = w.gate() === null;
      w.stop();
      const worst = stalled();
      // Renewals come at half the lease left: a stall of a quarter of it may already use up the margin.
      if (!open && worst >= ms / 4) {
        t.diagnostic(`a ${ms} ms lease: this process stalled ${Math.round(worst)} ms, the run says nothing; again with a longer lease`);
        continue;
      }
      assert.equal(renewed, true);
      assert.equal(open, true, `open after ${Math.round((10 * ms) / 3)} ms of a ${ms} ms lease (${g.reads} reads)`);
      assert.ok(g.reads >= 4, `renewed in the background (${g.reads} reads)`);
      assert.equal(lost.length, 0);
      return;
    }
    assert.fail('this process stalled past a quarter of every lease tried: the test could not be set up');
  });

  it('a lease not renewed (a paused loop, Redis away) closes the gate at its end, and onLost runs once', async (t) => {
    // Set-up: a lease running when the reads stop coming back. A stall longer than the lease before
    // then undoes it (the lease ran out already, rightly): set up again with a longer one.
    let set: { ms: number; w: LeaseWatch; lost: Error[] } | null = null;
    for (const ms of LEASES(80)) {
      const stalled = stallProbe();
      const g = guard(ms);
      const lost: Error[] = [];
      const w = new LeaseWatch(g, 'apply F on N', (e) => lost.push(e));
      const renewed = await w.renew();
      g.stillOwner = () => new Promise(() => {}); // the read never comes back
      const open = w.gate() === null;
      const worst = stalled();
      if (!open && worst >= ms / 4) {
        w.stop();
        t.diagnostic(`a ${ms} ms lease: this process stalled ${Math.round(worst)} ms in the set-up; again with a longer lease`);
        continue;
      }
      assert.equal(renewed, true);
      assert.equal(open, true);
      set = { ms, w, lost };
      break;
    }
    if (set === null) assert.fail('this process stalled past a quarter of every lease tried: the test could not be set up');
    const { ms, w, lost } = set;
    // The gate's timer is armed for the lease's end, before this one and due sooner: it has fired by then.
    await sleep(2 * ms);
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
