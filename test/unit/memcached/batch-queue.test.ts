import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchQueue } from '../../../src/memcached/batch-queue.js';
import { ServerGoneError } from '../../../src/errors.js';
import { batch } from '../../helpers/connection-rig.js';

const MN = { kind: 'MN' } as const;

describe('BatchQueue', () => {
  it('charges replies to the oldest batch in flight, settles it on MN, in order', () => {
    const q = new BatchQueue('h:1');
    q.push(batch(0));
    q.push(batch(1));
    assert.deepEqual([q.length, q.inFlight, q.pending], [2, 0, 2]);
    q.takeNext(null);
    q.takeNext(null);
    assert.equal(q.reply({ kind: 'SERVER_ERROR', message: 'out of memory storing object' }), null);
    assert.equal(q.reply({ kind: 'SERVER_ERROR', message: 'object too large for cache' }), null);
    const first = q.reply(MN);
    assert.deepEqual([first?.batch.tag, first?.delivered, first?.failed, first?.tooLarge], [0, true, 1, 1]);
    assert.deepEqual(first?.failedByReason, { 'SERVER_ERROR out of memory storing object': 1 });
    const second = q.reply(MN);
    assert.deepEqual([second?.batch.tag, second?.failed, second?.tooLarge], [1, 0, 0]);
    assert.deepEqual([q.length, q.bytes], [0, 0]);
  });

  it('a reply with nothing in flight, or one a set never gets, is a protocol error naming the server', () => {
    const q = new BatchQueue('h:1');
    assert.throws(() => q.reply(MN), { code: 'MCL_ERR_PROTOCOL', message: /h:1 with no batch in flight/ });
    q.push(batch(0));
    q.takeNext(null);
    assert.throws(() => q.reply({ kind: 'VERSION', version: '1.6' }), { code: 'MCL_ERR_PROTOCOL', message: /VERSION from h:1/ });
  });

  it('requeue forgets what was charged; failAll settles everything as not delivered, by the error code', () => {
    const q = new BatchQueue('h:1');
    q.push(batch(0));
    q.push(batch(1, 2));
    q.takeNext(null);
    q.reply({ kind: 'NS', flags: [] });
    assert.equal(q.requeue(), 1);
    assert.deepEqual([q.inFlight, q.pending], [0, 2]);
    q.takeNext(null);
    assert.deepEqual(q.reply(MN)?.failed, 0, 'the NS before the loss is forgotten');
    const gone = q.failAll(new ServerGoneError('gave up on h:1'));
    assert.deepEqual(gone.map((o) => [o.batch.tag, o.delivered, o.failed, o.failedByReason]), [[1, false, 2, { MCL_ERR_SERVER_GONE: 2 }]]);
    assert.equal(q.bytes, 0);
  });

  it('takeNext takes out records over the item limit, once per limit, and counts them too large', () => {
    const q = new BatchQueue('h:1');
    q.push(batch(0, 3, 'x'.repeat(20)));
    const wire = Buffer.from(q.takeNext(23)).toString();
    assert.equal(wire, 'mn\r\n', 'keys b0kN (4 bytes) + 20 bytes is over 23');
    const o = q.reply(MN);
    assert.deepEqual([o?.tooLarge, o?.failed, o?.delivered], [3, 0, true]);
    q.push(batch(1, 1, 'x'.repeat(20)));
    assert.equal(Buffer.from(q.takeNext(24)).toString(), 'ms b1k0 20 q\r\n' + 'x'.repeat(20) + '\r\nmn\r\n', 'at the limit it is sent');
  });
});
