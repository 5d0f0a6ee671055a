/**
 * What the encoder choice says, and how often (pipeline/native-encode.ts encoderChoice). A
 * cluster worker builds a feed, and so asks the choice, once per file: a line about the encoder
 * is said once per process, `auto`'s at info level, an `--encoder native` that cannot be had as a
 * warning. MEMC_LOAD_NO_NATIVE_ENCODE=1 (set before the addon's first check, which this process
 * makes here) is the "addon missing" path on purpose; node --test runs each file in its own
 * process. (With the addon, native-encode.test.ts and the encoder-choice integration test.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

process.env.MEMC_LOAD_NO_NATIVE_ENCODE = '1';
const { encoderChoice, nativeEncodeStatus, nativeRun, resolveEncoder } = await import('../../../src/pipeline/native-encode.js');

test('--encoder native without the addon: js, and the warning once per process, not once per feed', () => {
  assert.deepEqual(nativeEncodeStatus(), { ok: false, why: 'MEMC_LOAD_NO_NATIVE_ENCODE=1 is set' }, 'the addon is out of use, as this test needs');
  const first = encoderChoice('native');
  assert.equal(first.encoder, 'js');
  assert.equal(first.note?.level, 'warn');
  assert.equal(first.note?.msg, 'Native line encoder not used: MEMC_LOAD_NO_NATIVE_ENCODE=1 is set; encoding lines in JS (--encoder js)');
  for (let file = 0; file < 3; file++) assert.deepEqual(encoderChoice('native'), { encoder: 'js', note: null }, `feed ${file + 2} repeats no warning`);
});

test('auto says its line once too, at info: a missing addon is no fault', () => {
  const first = encoderChoice('auto');
  assert.equal(first.encoder, 'js');
  assert.equal(first.note?.level, 'info');
  assert.equal(encoderChoice('auto').note, null);
});

test('js asks nothing and says nothing; the threads resolve the same choice; no addon is handed out', () => {
  assert.deepEqual(encoderChoice('js'), { encoder: 'js', note: null });
  for (const mode of ['auto', 'native', 'js'] as const) assert.equal(resolveEncoder(mode), 'js', mode);
  assert.throws(() => nativeRun(), /the native line encoder is not available/);
});
