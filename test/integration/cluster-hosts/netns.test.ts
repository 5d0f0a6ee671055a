/**
 * The hosts the cluster's fault tests stand on (test/helpers/netns.ts): each host reaches the
 * servers, a cut isolates that host alone (both ways) and is seen by the probe, a heal restores
 * it, and nothing of the lab is left on the machine afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import { version } from '../../../src/memcached/admin.js';
import { startMemcached, stopAll } from '../../helpers/memcached.js';
import { makeLab, netnsMissing, probeTimesOut } from '../../helpers/netns.js';

const skip = netnsMissing();
after(stopAll);

const leftovers = (tag: string) => {
  const ns = execFileSync('ip', ['netns', 'list']).toString();
  const links = execFileSync('ip', ['-o', 'link']).toString();
  return `${ns}${links}`.split('\n').filter((l) => l.includes(tag));
};

test('a lab: hosts reach the servers, a cut isolates one host and is proven, a heal restores it, destroy leaves nothing', { skip, timeout: 60_000 }, async () => {
  const lab = makeLab(2);
  const tag = lab.servers.ns.replace(/-srv$/, '');
  try {
    assert.match(lab.servers.address, /^198\.1[89]\.\d+\.1$/, 'addresses of the benchmarking range only');
    const node = await startMemcached({ host: lab.servers.address, netns: lab.servers.ns });
    assert.match(await version(node.address, 5000), /^\d+\.\d+/, 'the test process reaches the servers');
    for (const h of lab.hosts) assert.equal(await probeTimesOut(h, lab.servers.address, node.port, 2000), false, `${h.ns} reaches the servers`);

    const [cutOff, other] = lab.hosts;
    const cut = await lab.cut(cutOff!, node.port);
    assert.equal(cut.verified, true, 'the probe sees the cut');
    assert.equal(await probeTimesOut(other!, lab.servers.address, node.port, 2000), false, 'the other host still reaches the servers');
    assert.equal(await probeTimesOut(cutOff!, lab.servers.address, node.port, 300), true, 'the cut host does not');

    lab.heal(cutOff!);
    assert.equal(await probeTimesOut(cutOff!, lab.servers.address, node.port, 2000), false, 'healed, it reaches the servers again');
    await node.stop();
  } finally {
    lab.destroy();
  }
  assert.deepEqual(leftovers(tag), [], 'no namespace or link of the lab is left');
});
