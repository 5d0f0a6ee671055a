/**
 * What the inflater choice says, and how often (logfile/gunzip-choice.ts). A cluster worker
 * builds a feed, and so asks the choice, once per file: a line about the inflater is said once
 * per process, whether it is `auto`'s info line or the warning of an `--gunzip isal` that cannot
 * be used. MEMC_LOAD_NO_ISAL=1 (set before the addon's first check, which this process makes
 * here) is the "addon missing" path on purpose; node --test runs each file in its own process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

process.env.MEMC_LOAD_NO_ISAL = '1';
const { gunzipChoice } = await import('../../../src/logfile/gunzip-choice.js');
const { isalStatus } = await import('../../../src/logfile/isal-gunzip.js');

test('--gunzip isal without the addon: zlib, and the warning once per process, not once per feed', () => {
  assert.deepEqual(isalStatus(), { ok: false, why: 'MEMC_LOAD_NO_ISAL=1 is set' }, 'the addon is out of use, as this test needs');
  const first = gunzipChoice('isal');
  assert.notEqual(first.inflater, 'isal');
  assert.equal(first.note?.level, 'warn');
  assert.match(first.note?.msg ?? '', /^Native ISA-L inflater not used: MEMC_LOAD_NO_ISAL=1 is set; inflating /);
  for (let file = 0; file < 3; file++) {
    const again = gunzipChoice('isal');
    assert.equal(again.inflater, first.inflater, 'the choice itself is the same for every feed');
    assert.equal(again.note, null, `feed ${file + 2} repeats no warning`);
  }
});

test('auto says its line once too, at info: a missing addon is no fault', () => {
  const first = gunzipChoice('auto');
  assert.equal(first.note?.level, 'info');
  assert.match(first.note?.msg ?? '', /^Native ISA-L inflater not used: MEMC_LOAD_NO_ISAL=1 is set/);
  assert.equal(gunzipChoice('auto').note, null);
});

test('pool asks nothing and says nothing', () => {
  assert.deepEqual(gunzipChoice('pool'), { inflater: 'pool', note: null });
});
