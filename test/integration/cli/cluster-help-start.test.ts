/**
 * `enqueue`, `worker` and `status` print their help without loading BullMQ (issue #19 item 4:
 * ~0.3 s of CPU of the help's 0.45). Node's own module log (NODE_DEBUG=module) names every
 * CommonJS package it loads; a command that asks Redis (status, which loads ioredis before it
 * finds Redis unreachable) is the control that the probe sees such a load.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/memcached.js';

const env = { ...process.env, NODE_DEBUG: 'module' };

test('each cluster command prints its --help without loading bullmq or ioredis; status with a Redis to ask loads ioredis', async () => {
  const port = await freePort();
  const control = await runCli(['status', '--redis', `redis://127.0.0.1:${port}`], { env });
  assert.equal(control.code, 1, control.stderr);
  assert.match(control.stderr, /load "[^"]*node_modules\/ioredis\//, 'the probe sees ioredis load');
  for (const command of ['enqueue', 'worker', 'status']) {
    const r = await runCli([command, '--help'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: memc-load ${command} `));
    assert.doesNotMatch(r.stderr, /node_modules\/(bullmq|ioredis)\//, `${command} --help loaded bullmq or ioredis`);
  }
});
