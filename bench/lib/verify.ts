/**
 * After every timed run: is what memcached holds what the data says it must?
 *   - a sample of keys spread over every file, read back with `mg` and compared byte for byte
 *     with the protobufjs encoding of the last line naming each key;
 *   - memcached's own counters, summed over the servers, against the record count:
 *     curr_items = distinct keys, Δcmd_set = records, Δtotal_items ≥ records, no eviction.
 * Every problem is listed; a run with any is reported FAILED.
 *
 * total_items may grow by a little more than the sets: memcached links an item again when its
 * slab rebalancer moves a live item to another page (do_item_replace), with no client command.
 * That surplus is noted, not failed; cmd_set counts client sets only and must match exactly.
 */
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { getMany } from '../../src/memcached/admin.js';
import type { Expectation } from './expect.js';
import type { Counters, Servers } from './servers.js';

export interface Check {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly sampled: number;
  /** Facts worth showing that are not failures (a total_items surplus). */
  readonly notes: readonly string[];
  readonly counters: Counters;
}

export async function verify(servers: Servers, expect: Expectation, before: Counters, extra: string[] = []): Promise<Check> {
  const problems = [...extra];
  let sampled = 0;
  let wrong = 0;
  let missing = 0;
  const examples: string[] = [];
  for (const [i, type] of DEVICE_TYPES.entries()) {
    const want = expect.sample.filter((s) => s.type === type);
    if (want.length === 0) continue;
    // A pool's key is on one of its nodes: read them all, take what one holds.
    const got = new Map<string, Buffer | null>();
    for (const node of servers.pools()[i] ?? []) {
      for (const [k, v] of await getMany(node.address, want.map((s) => s.key), 30_000)) if (v !== null && v !== undefined) got.set(k, v);
    }
    for (const s of want) {
      sampled++;
      const v = got.get(s.key);
      if (v === null || v === undefined) {
        missing++;
        if (examples.length < 3) examples.push(`${s.key}: missing`);
      } else if (v.toString('hex') !== s.hex) {
        wrong++;
        if (examples.length < 3) examples.push(`${s.key}: got ${v.toString('hex').slice(0, 40)}…, want ${s.hex.slice(0, 40)}…`);
      }
    }
  }
  if (missing + wrong > 0) problems.push(`sample: ${missing} missing, ${wrong} wrong of ${sampled} keys (${examples.join('; ')})`);
  const after = await servers.counters();
  const d = (name: keyof Counters): number => after[name] - before[name];
  if (after.curr_items !== expect.distinctKeys) {
    problems.push(`curr_items ${after.curr_items} ≠ ${expect.distinctKeys} distinct keys (${expect.distinctKeysSource})`);
  }
  const notes: string[] = [];
  if (d('total_items') < expect.records) problems.push(`total_items grew by ${d('total_items')}, less than the ${expect.records} records`);
  else if (d('total_items') > expect.records) {
    notes.push(`total_items grew by ${d('total_items') - expect.records} more than the records (memcached relinking moved items)`);
  }
  if (d('cmd_set') !== expect.records) problems.push(`cmd_set grew by ${d('cmd_set')}, not by the ${expect.records} records`);
  if (d('evictions') !== 0) problems.push(`${d('evictions')} evictions: the servers were too small`);
  return { ok: problems.length === 0, problems, sampled, notes, counters: after };
}
