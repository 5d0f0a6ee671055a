/** The backpressure wait (pipeline/room.ts), the one copy the session, the split and the apply use. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoomWait } from '../../../src/pipeline/room.js';

test('RoomWait: resolves at once when there is room, else after a wake that finds some', async () => {
  const room = new RoomWait();
  await room.until(() => true);
  let free = 0;
  let done = false;
  const waiting = room.until(() => free >= 2).then(() => (done = true));
  room.wake();
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'a wake with no room yet: still waiting');
  free = 1;
  room.wake();
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  free = 2;
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'room without a wake is not seen');
  room.wake();
  await waiting;
  assert.equal(done, true);
});

test('RoomWait: one wake reaches every waiter, each with its own condition', async () => {
  const room = new RoomWait();
  const state = { a: false, b: false };
  const order: string[] = [];
  const a = room.until(() => state.a).then(() => order.push('a'));
  const b = room.until(() => state.b).then(() => order.push('b'));
  state.a = true;
  state.b = true;
  room.wake();
  await Promise.all([a, b]);
  assert.deepEqual(order.sort(), ['a', 'b']);
});
