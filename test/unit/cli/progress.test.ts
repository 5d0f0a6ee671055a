import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, formatRate, progressStyle, renderProgress } from '../../../src/cli/progress.js';
import { formatJsonLine } from '../../../src/cli/json-logger.js';

const snap = { file: '/d/20170929000100.tsv.gz', fileIndex: 1, files: 3, bytesRead: 250, bytesTotal: 1000, lines: 300_000, errors: 12 };

test('the progress line shows file, %, rate, ETA and errors', () => {
  const line = renderProgress(snap, 2, { color: false, columns: 200 });
  assert.equal(line, '[2/3] 20170929000100.tsv.gz  25.0%  150.0k lines/s  ETA 6s  12 errors');
});

test('errors are red only with color; the line never wraps', () => {
  assert.match(renderProgress(snap, 2, { color: true, columns: 200 }), /\x1b\[31m12 errors\x1b\[0m/);
  assert.ok(renderProgress(snap, 2, { color: false, columns: 30 }).length < 30);
});

test('no TTY, --quiet: no progress line; NO_COLOR turns color off', () => {
  const tty = { isTTY: true, columns: 100 } as NodeJS.WriteStream;
  const pipe = { isTTY: false } as NodeJS.WriteStream;
  assert.equal(progressStyle(pipe, false, {}), null);
  assert.equal(progressStyle(tty, true, {}), null);
  assert.deepEqual(progressStyle(tty, false, {}), { color: true, columns: 100 });
  assert.deepEqual(progressStyle(tty, false, { NO_COLOR: '1' }), { color: false, columns: 100 });
});

test('rates and durations', () => {
  assert.deepEqual([formatRate(950), formatRate(1500), formatRate(2_500_000)], ['950', '1.5k', '2.50M']);
  assert.deepEqual([formatDuration(5), formatDuration(125), formatDuration(7300)], ['5s', '2m05s', '2h01m']);
});

test('--log-format json: one object per line with the fields as keys', () => {
  const line = formatJsonLine('warn', 'rejected', { file: 'f', line: 3, reason: 'geo' }, new Date(Date.UTC(2017, 8, 29)));
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  assert.deepEqual(JSON.parse(line), { time: '2017-09-29T00:00:00.000Z', level: 'warn', msg: 'rejected', file: 'f', line: 3, reason: 'geo' });
});
