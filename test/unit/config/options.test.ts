import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, resolveOptions, type OptionInput } from '../../../src/config/options.js';

const rejects = (input: unknown, message: RegExp) =>
  assert.throws(() => resolveOptions(input as OptionInput), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MCL_ERR_CONFIG');
    assert.match(err.message, message);
    return true;
  });

test('load() options: a misspelt name is an error, as in --config (issue #12)', () => {
  rejects({ maxErrorRat: 0.02 }, /^unknown option "maxErrorRat" \(options: pattern, .*maxErrorRate.*, servers\)/);
  rejects({ servers: { ifda: '127.0.0.1:1' } }, /^servers: unknown device type "ifda" \(expected idfa, gaid, adid, dvid\)/);
});

test('load() options: a wrong type names the type expected', () => {
  rejects({ ttl: '60' }, /^option "ttl" must be a number, not string \("60"\)/);
  rejects({ packed: 'yes' }, /^option "packed" must be a boolean, not string/);
});

test('load() options: a resolved RunOptions goes through unchanged', () => {
  const o = resolveOptions({ pattern: '/x/*.tsv.gz', ttl: 60, servers: { gaid: '127.0.0.1:1' } });
  assert.deepEqual(resolveOptions(o), o);
  assert.equal(o.maxErrorRate, DEFAULTS.maxErrorRate);
});
