/**
 * The hand-off between a split and its lanes' applies in one worker process (cluster/hand-off.ts),
 * pure: the source's order, bound and release; the registry's offers, claims and waits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { handOffFailure, HandOffs, HandOffSource } from '../../../src/cluster/hand-off.js';
import { RoomWait } from '../../../src/pipeline/room.js';

const LANE = { server: '127.0.0.1:1', host: '127.0.0.1', port: 1 };
const frames = (n: number) => Buffer.from(`${'x'.repeat(n)}mn\r\n`, 'latin1');
/** What a promise did within `ms`: its value, or 'pending'. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> => Promise.race([p, sleep(ms).then(() => 'pending' as const)]);

test('a source yields the batches in order, gives each back once released, and ends with the totals pushed', async () => {
  const source = new HandOffSource(LANE, 1 << 20, new RoomWait());
  const given: number[] = [];
  const a = frames(10);
  const b = frames(20);
  source.push(a, 2, () => given.push(1));
  source.push(b, 3, () => given.push(2));
  const seen: [number, number][] = [];
  const reading = (async () => {
    for await (const batch of source.batches()) {
      seen.push([batch.buf.byteLength, batch.records]);
      source.release(batch.buf);
    }
  })();
  await sleep(5);
  const c = frames(5);
  source.push(c, 1, () => given.push(3));
  source.finish();
  await reading;
  assert.deepEqual(seen, [[14, 2], [24, 3], [9, 1]]);
  assert.deepEqual(given, [1, 2, 3], 'each buffer back to the feed once its batch was released');
  assert.deepEqual(source.end(), { bytes: 47, records: 6, batches: 3 });
});

test('a source is full at its bound until the apply takes batches, and wakes the split then', async () => {
  const room = new RoomWait();
  const source = new HandOffSource(LANE, 30, room);
  source.push(frames(12), 1, () => {});
  assert.equal(source.full, false, '16 bytes waiting, bound 30');
  source.push(frames(12), 1, () => {});
  assert.equal(source.full, true, '32 bytes waiting');
  let woken = false;
  const waiting = room.until(() => !source.full).then(() => (woken = true));
  const it = source.batches();
  await it.next();
  await waiting;
  assert.equal(woken, true);
  assert.equal(source.full, false);
});

test('a split that fails before finishing makes the apply\'s next read throw; after finishing, it does not', async () => {
  const failing = new HandOffSource(LANE, 1 << 20, new RoomWait());
  failing.push(frames(3), 1, () => {});
  const it = failing.batches();
  assert.equal((await it.next()).done, false);
  failing.fail(new Error('bad disk'));
  await assert.rejects(it.next(), /bad disk/);
  assert.throws(() => failing.end(), /bad disk/);

  const finished = new HandOffSource(LANE, 1 << 20, new RoomWait());
  finished.finish();
  finished.fail(new Error('the file changed after'));
  assert.equal((await finished.batches().next()).done, true);
  assert.deepEqual(finished.end(), { bytes: 0, records: 0, batches: 0 });
});

test('a closed source gives back what waits and whatever is pushed later, and is never full', async () => {
  const source = new HandOffSource(LANE, 10, new RoomWait());
  let back = 0;
  source.push(frames(20), 1, () => back++);
  assert.equal(source.full, true);
  await source.close();
  assert.equal(back, 1);
  assert.equal(source.full, false);
  source.push(frames(20), 1, () => back++);
  assert.equal(back, 2, 'pushed after the apply stopped: straight back');
  assert.deepEqual(source.pushed, { bytes: 48, records: 2, batches: 2 });
});

const make = () => new HandOffSource(LANE, 1 << 20, new RoomWait());

test('a split claims the offers of its own file only; a withdrawn offer is not claimed; a claimed one cannot be withdrawn', async () => {
  const h = new HandOffs();
  const a = h.offer('p', 'F', 'A');
  const b = h.offer('p', 'G', 'B'); // B's apply waits for another file's split
  const got = await within(h.claim('p', 'F', null, ['A', 'B', 'D'], make, 60_000), 1000);
  assert.notEqual(got, 'pending', 'nothing to wait for: B waits on G, D has nothing here');
  assert.deepEqual([...(got as Map<string, HandOffSource>).keys()], ['A']);
  assert.equal(a.withdraw(), false, 'claimed: the apply must be fed');
  assert.equal(await a.claimed, (got as Map<string, HandOffSource>).get('A'));
  assert.equal(b.withdraw(), true);
  // Withdrawn (its manifest was there): that apply reads the spool, and no split claims it.
  const c = h.offer('p', 'F', 'C');
  assert.equal(c.withdraw(), true, 'not claimed yet: withdrawn');
  assert.equal((await h.claim('p', 'F', null, ['C'], make, 50)).size, 0);
  // Its job then ends; withdrawn again on the way out, it must not read as applying F once more.
  h.ended('p', 'F', 'C');
  assert.equal(c.withdraw(), true);
  const after = await within(h.claim('p', 'F', null, ['C'], make, 60_000), 1000);
  assert.ok(after !== 'pending' && after.size === 0, 'F\'s apply on C ended: nothing of F is coming');
});

test('a split waits for the offer of an apply starting here, and of the next apply after the previous file\'s ended here', async () => {
  const h = new HandOffs();
  h.starting('p', 'F', 'A');
  const claim = h.claim('p', 'F', null, ['A'], make, 60_000);
  assert.equal(await within(claim, 50), 'pending', 'A\'s apply started here: its offer is waited for');
  const offer = h.offer('p', 'F', 'A');
  const got = await claim;
  assert.equal(got.get('A'), await offer.claimed);

  // A's apply of F ends; its queue fetches G's next: the split of G (F before it) waits for it.
  h.ended('p', 'F', 'A');
  const next = h.claim('p', 'G', 'F', ['A'], make, 60_000);
  assert.equal(await within(next, 50), 'pending');
  h.starting('p', 'G', 'A');
  h.offer('p', 'G', 'A');
  assert.equal((await next).size, 1);
});

test('a split waits while the previous file\'s apply runs here, at most its limit, and the grace after it ended; a split running ahead waits for nothing', async () => {
  const h = new HandOffs();
  h.offer('p', 'F', 'A');
  assert.equal((await h.claim('p', 'F', null, ['A'], make)).size, 1); // now applying F
  const ahead = await within(h.claim('p', 'H', 'G', ['A'], make, 60_000), 1000);
  assert.ok(ahead !== 'pending' && ahead.size === 0, 'H is two files past the apply of F here: spooled at once');
  const capped = await within(h.claim('p', 'G', 'F', ['A'], make, 100), 5000);
  assert.ok(capped !== 'pending' && capped.size === 0, 'A still applies F: G waits 100 ms, then spools A');
  h.ended('p', 'F', 'A');
  const t0 = performance.now();
  const graced = await h.claim('p', 'G', 'F', ['A'], make, 60_000);
  assert.equal(graced.size, 0, 'no apply of G came: spooled');
  assert.ok(performance.now() - t0 < 30_000, 'waited the grace after the end, not the limit');
  const again = await within(h.claim('p', 'F', null, ['A'], make, 60_000), 1000);
  assert.ok(again !== 'pending' && again.size === 0, 'F\'s own apply ended here: nothing of F is coming');
});

test('a lane whose queue this process just began to serve is waited for, briefly', async () => {
  const h = new HandOffs();
  h.serving('A');
  const claim = h.claim('p', 'F', null, ['A'], make, 60_000);
  assert.equal(await within(claim, 50), 'pending');
  h.offer('p', 'F', 'A');
  assert.equal((await claim).size, 1);
});

test('handOffFailure: null when every hand-off ended clean; else the lanes, and whether the split must run again', () => {
  const clean = { clean: true, lostOwnership: false, why: null };
  assert.equal(handOffFailure('/f', [['A', clean]]), null);
  const lost = handOffFailure('/f', [['A', clean], ['B', { clean: false, lostOwnership: true, why: 'its lease ran out mid-apply' }]]);
  assert.equal(lost?.lostOwnership, true);
  assert.equal(lost?.code, 'MCL_ERR_SPOOL');
  assert.match(lost?.message ?? '', /\/f: its apply on B: its lease ran out mid-apply/);
  const failed = handOffFailure('/f', [['C', { clean: false, lostOwnership: false, why: 'memcached 127.0.0.1:1 refused 3 write(s)' }]]);
  assert.equal(failed?.lostOwnership, false);
  assert.match(failed?.message ?? '', /C: memcached 127\.0\.0\.1:1 refused/);
});
