import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileKey } from '../../../src/logfile/file-key.js';

test('fileKey: the base name for people, a hash of the path for uniqueness; no ":" (BullMQ) nor "/" (a spool folder)', () => {
  const a = fileKey('/d/a/20170929000000.tsv.gz');
  const b = fileKey('/d/b/20170929000000.tsv.gz');
  assert.match(a, /^20170929000000\.tsv\.gz@[0-9a-f]{12}$/);
  assert.notEqual(a, b, 'two folders, one name: two keys');
  assert.equal(fileKey('/d/a/../a/20170929000000.tsv.gz'), a, 'the same file by another spelling of its path');
  assert.doesNotMatch(fileKey('/d/odd:name.tsv.gz'), /[:/]/);
});
