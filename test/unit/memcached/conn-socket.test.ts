import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listedAt } from '../../../src/memcached/conn-socket.js';

test('listedAt: where a connection memcached lists is bound on our side, for the same-port release', () => {
  assert.deepEqual(listedAt('tcp:198.18.7.2:41234'), { address: '198.18.7.2', port: 41234 });
  assert.deepEqual(listedAt('127.0.0.1:5'), { address: '127.0.0.1', port: 5 });
  assert.deepEqual(listedAt('tcp6:[::1]:33013'), { address: '::1', port: 33013 });
  assert.equal(listedAt('unix:/tmp/memcached.sock'), null);
  assert.equal(listedAt('tcp:198.18.7.2'), null);
});
