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
  rejects({ maxErrorRat: 0.02 }, /^unknown option "maxErrorRat"; did you mean "maxErrorRate"\? \(options: pattern, .*maxErrorRate.*, servers\)/);
  // The timeouts' names say their unit: the flag's name is met with the library's.
  rejects({ connectTimeout: 500 }, /^unknown option "connectTimeout"; did you mean "connectTimeoutMs"\? \(options: /);
  rejects({ servers: { ifda: '127.0.0.1:1' } }, /^servers: unknown device type "ifda" \(expected idfa, gaid, adid, dvid\)/);
});

test('load() options: a wrong type names the type expected', () => {
  rejects({ ttl: '60' }, /^option "ttl" must be a number, not string \("60"\)/);
  rejects({ packed: 'yes' }, /^option "packed" must be a boolean, not string/);
});

test("load() options: workers is 'auto' by default, a whole number 0..256, or 'auto'; nothing else (issue #19)", () => {
  assert.equal(resolveOptions({}).workers, 'auto');
  assert.equal(resolveOptions({ workers: 'auto' }).workers, 'auto');
  assert.equal(resolveOptions({ workers: 0 }).workers, 0);
  assert.equal(resolveOptions({ workers: 3 }).workers, 3);
  rejects({ workers: 'two' }, /^option "workers" must be a number or "auto", not string \("two"\)/);
  rejects({ workers: true }, /^option "workers" must be a number or "auto", not boolean/);
  rejects({ workers: -1 }, /^--workers: -1 is out of range/);
  rejects({ workers: 1.5 }, /^--workers: 1.5 is not a whole number/);
});

test('load() options: a resolved RunOptions goes through unchanged', () => {
  const o = resolveOptions({ pattern: '/x/*.tsv.gz', ttl: 60, servers: { gaid: '127.0.0.1:1' } });
  assert.deepEqual(resolveOptions(o), o);
  assert.equal(o.maxErrorRate, DEFAULTS.maxErrorRate);
});

test('load() options: a pool is a "host:port[:weight],…" string, a list of addresses, or one address (issue #13)', () => {
  const want = resolveOptions({ servers: { idfa: 'a:1,b:2:3' } }).servers.idfa;
  assert.deepEqual(want.nodes.map((n) => [n.label, n.weight]), [['a:1', 1], ['b:2', 3]]);
  assert.deepEqual(resolveOptions({ servers: { idfa: ['a:1', { host: 'b', port: 2, label: 'b:2', weight: 3 }] } }).servers.idfa, want);
  const one = resolveOptions({ servers: { gaid: { host: 'c', port: 3, label: 'c:3' } } }).servers.gaid;
  assert.deepEqual(one, { nodes: [{ host: 'c', port: 3, label: 'c:3' }], label: 'c:3' });
  rejects({ servers: { idfa: ['a:1', 'a:1'] } }, /^--idfa: a:1 is listed twice/);
  rejects({ distribution: 'ketama_weighted' }, /^--distribution: "ketama_weighted" is not ketama-weighted, ketama, modula$/);
});

test('load() options: encoder is auto by default, js or native when given, and nothing else', () => {
  assert.equal(resolveOptions({}).encoder, 'auto');
  assert.equal(resolveOptions({ encoder: 'js' }).encoder, 'js');
  assert.equal(resolveOptions({ encoder: 'native' }).encoder, 'native');
  rejects({ encoder: 'c' }, /^--encoder: "c" is not auto, native, js$/);
});

test('load() options: gunzip is auto by default, one of its modes when given, and nothing else', () => {
  assert.equal(resolveOptions({}).gunzip, 'auto');
  for (const mode of ['isal', 'inline', 'pool'] as const) assert.equal(resolveOptions({ gunzip: mode }).gunzip, mode);
  rejects({ gunzip: 'zlib' }, /^--gunzip: "zlib" is not auto, isal, inline, pool$/);
});
