/**
 * Watch mode's completeness check on its own: a copy still in progress must not pass for a whole
 * file, also when the part still arriving is a member after zero padding (issue #10).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { gzipTrailerWhole } from '../../../src/pipeline/watch.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const member = (text: string) => gzipSync(Buffer.from(text));
const file = (name: string, ...parts: Buffer[]) => {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(parts));
  return path;
};

test('whole: one member, members back to back, members with zero padding, zeros at the end', async () => {
  assert.equal(await gzipTrailerWhole(file('a', member('x\n'))), true);
  assert.equal(await gzipTrailerWhole(file('b', member('x\n'), member('y\n'))), true);
  assert.equal(await gzipTrailerWhole(file('c', member('x\n'), Buffer.alloc(16), member('y\n'))), true);
  assert.equal(await gzipTrailerWhole(file('d', member('x\n'), Buffer.alloc(16))), true);
});

test('not whole: a copy stopped inside the first member, or inside the member after the padding', async () => {
  const second = member('y\n'.repeat(1000));
  assert.equal(await gzipTrailerWhole(file('e', member('x\n').subarray(0, 12))), false);
  assert.equal(await gzipTrailerWhole(file('f', member('x\n'), Buffer.alloc(16), second.subarray(0, second.length - 5))), false);
});

test('corrupt in another way counts as whole: the loader reports it with where it broke', async () => {
  assert.equal(await gzipTrailerWhole(file('g', member('x\n'), Buffer.alloc(4), Buffer.from('JUNK'))), true);
});
