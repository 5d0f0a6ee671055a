/**
 * The admin helpers' timeout (admin.ts) is the server's silence while this process was looking:
 * a stall of ours (a loaded machine, a long synchronous stretch) is given back before judging.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { version } from '../../../src/memcached/admin.js';
import { FakeServer, defaultReply } from '../../helpers/fake-server.js';
import { stall } from '../../helpers/stall-probe.js';

it('a stall of this process longer than the timeout, before the request went out, fails nothing', async (t) => {
  let asked = 0;
  const server = await FakeServer.start((cmd, conn) => {
    if (cmd.name === 'other' && cmd.line === 'version') {
      asked++;
      conn.write('VERSION 1.6.99\r\n');
    } else defaultReply(cmd, conn);
  });
  t.after(() => server.stop());
  const answer = version(server.address, 100);
  // The connect is issued on a later tick: the stall comes first, so the timer is due before any
  // byte went out, and fires 300 ms late.
  stall(400);
  assert.equal(await answer, '1.6.99');
  assert.equal(asked, 1);
});

it('a silent server still times out, naming it', async (t) => {
  const server = await FakeServer.start(() => {});
  t.after(() => server.stop());
  const started = performance.now();
  await assert.rejects(version(server.address, 100), { code: 'MCL_ERR_RESPONSE_TIMEOUT', message: new RegExp(server.address.label) });
  assert.ok(performance.now() - started >= 99);
});
