/**
 * The restart rule as the cluster feeds it (issue #18, item 1): readings of one node taken on
 * different hosts, timed by the node's own clock (identityOf), so no host's clock skew matters.
 * The rule itself (pid, uptime against the time between readings) is tested through the single
 * host's use of it in eviction-watch.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identityOf, restarted } from '../../../src/memcached/restart-rule.js';

const stats = (pid: string, time: number, uptime: number) => ({ pid, time: String(time), uptime: String(uptime), evictions: '0' });

describe('identityOf: a node read from any host', () => {
  it('times the reading by the node\'s clock: time − uptime is its start', () => {
    assert.deepEqual(identityOf(stats('42', 1_700_000_100, 100)), { pid: '42', uptime: 100, at: 1_700_000_100_000 });
  });

  it('the same process read later is not a restart, whichever host reads it and whatever its clock says', () => {
    const first = identityOf(stats('42', 1_700_000_100, 100));
    for (const later of [1, 60, 3600]) assert.equal(restarted(first, identityOf(stats('42', 1_700_000_100 + later, 100 + later)), undefined), null, `+${later} s`);
  });

  it('a restart that kept its pid (a container\'s pid 1) and is already up longer than the first reading said', () => {
    const first = identityOf(stats('1', 1_700_000_100, 5));
    const r = restarted(first, identityOf(stats('1', 1_700_000_200, 30)), undefined);
    assert.ok(r !== null, 'its start moved 70 s later');
    assert.match(r.evidence, /pid 1 kept, but up 30 s, 100 s after a reading of 5 s/);
  });

  it('a new pid is a restart', () => {
    assert.equal(restarted(identityOf(stats('42', 1_700_000_100, 100)), identityOf(stats('43', 1_700_000_101, 2)), undefined)?.evidence, 'pid 42 -> 43');
  });

  it('refuses stats without a count for time or uptime: such a node cannot be told apart from a new one', () => {
    assert.throws(() => identityOf({ pid: '1', uptime: '5' }), /stat time missing/);
    assert.throws(() => identityOf({ pid: '1', time: '5', uptime: '-1' }), /stat uptime missing or not a count/);
  });
});
