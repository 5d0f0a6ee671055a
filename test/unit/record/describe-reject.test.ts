import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeReject } from '../../../src/record/describe-reject.js';

const describe = (line: Buffer | string, reason: Parameters<typeof describeReject>[3]) => {
  const buf = Buffer.isBuffer(line) ? line : Buffer.from(line, 'utf8');
  return describeReject(buf, 0, buf.length, reason, 1 << 20);
};

test('printable UTF-8 is shown as it is; bytes that are not UTF-8 as \\xNN, C1 controls and DEL escaped', () => {
  assert.equal(describe('идфа\tx\t1\t2\t3', 'type').text, '"идфа" has no server');
  const raw = Buffer.concat([Buffer.from('ab'), Buffer.from([0xff, 0xc3]), Buffer.from('\t'), Buffer.from([0xc2, 0x85, 0x7f]), Buffer.from('\t1\t2\t3')]);
  assert.equal(describe(raw, 'type').text, '"ab\\xff\\xc3" has no server');
  assert.equal(describe(raw, 'key').value, '\\xc2\\x85\\u007f');
});

test('a value over 40 characters is cut with an ellipsis, and its length in bytes is given', () => {
  const d = describe(`idfa\tx\t${'9'.repeat(45)},5\t2\t3`, 'geo');
  assert.equal(d.value, `${'9'.repeat(40)}…`);
  assert.equal(d.text, `lat "${'9'.repeat(40)}…" (47 bytes) is not a number`);
});

test('geo names lon when lat is good; a CRLF line is described without its CR', () => {
  assert.equal(describe('idfa\tx\t 1.5 \t1,5\t3\r', 'geo').text, 'lon "1,5" is not a number');
  assert.equal(describe('idfa\t\t1\t2\t3\r', 'empty').text, 'dev_id is empty');
});
