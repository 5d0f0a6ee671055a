import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { envName, fromConfigFile, fromEnv, mergeSources } from '../../../src/config/sources.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-load-cfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const known = { pattern: { type: 'string' }, idfa: { type: 'string' }, dry: { type: 'boolean' }, 'max-error-rate': { type: 'string' }, help: { type: 'boolean' } } as const;

function file(content: string): string {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, content);
  return f;
}

test('env names follow the flags', () => {
  assert.equal(envName('idfa'), 'MEMC_LOAD_IDFA');
  assert.deepEqual(fromEnv({ MEMC_LOAD_IDFA: 'a:1', MEMC_LOAD_DVID: '', MEMC_LOAD_PATTERN: '/x/*', OTHER: 'y' }), { idfa: 'a:1', pattern: '/x/*' });
});

test('a config file gives flag-shaped values; numbers become strings for the one parser', () => {
  assert.deepEqual(fromConfigFile(file('{"idfa":"h:2","max-error-rate":0.05,"dry":true}'), known), { idfa: 'h:2', 'max-error-rate': '0.05', dry: true });
});

const bad: [string, string, RegExp][] = [
  ['not JSON', '{oops', /^--config \S+: cannot be read as JSON/],
  ['not an object', '[1,2]', /must hold a JSON object/],
  ['unknown key', '{"idfaa":"x:1"}', /unknown option "idfaa"/],
  ['help is not an option here', '{"help":true}', /unknown option "help"/],
  ['wrong boolean', '{"dry":"yes"}', /"dry" must be true or false/],
  ['wrong value type', '{"idfa":{"host":"x"}}', /"idfa" must be a string or a number/],
];
for (const [name, content, message] of bad) {
  test(`config file: ${name} is a configuration error`, () => {
    assert.throws(() => fromConfigFile(file(content), known), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'MCL_ERR_CONFIG');
      assert.match(err.message, message);
      return true;
    });
  });
}

test('a missing config file names the file', () => {
  assert.throws(() => fromConfigFile(join(dir, 'nope.json'), known), /nope\.json/);
});

test('flags win over environment, environment over the file', () => {
  const merged = mergeSources({ idfa: 'file:1', pattern: 'file' }, { idfa: 'env:1' }, { idfa: 'flag:1', pattern: undefined });
  assert.deepEqual(merged, { idfa: 'flag:1', pattern: 'file' });
});
