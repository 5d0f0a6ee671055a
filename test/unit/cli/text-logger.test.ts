import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTextLogger, formatLine } from '../../../src/cli/text-logger.js';

test('lines have the reference loader shape', () => {
  assert.equal(formatLine('info', 'hello', new Date(2017, 8, 29, 0, 0, 1)), '[2017.09.29 00:00:01] I hello\n');
  assert.equal(formatLine('error', 'x', new Date(2017, 0, 2, 3, 4, 5)), '[2017.01.02 03:04:05] E x\n');
});

test('-l appends to the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memc-load-log-'));
  try {
    const file = join(dir, 'run.log');
    for (const msg of ['one', 'two']) {
      const l = createTextLogger(file);
      l.log('info', msg);
      l.close();
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] as string, /^\[\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d\] I one$/);
    assert.match(lines[1] as string, / I two$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable log file is a configuration error', () => {
  assert.throws(() => createTextLogger('/nonexistent-dir/x.log'), { code: 'MCL_ERR_CONFIG' });
});
