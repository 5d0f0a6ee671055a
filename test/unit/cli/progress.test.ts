import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, formatRate, ProgressLine, progressStyle, renderProgress, type ProgressSnapshot } from '../../../src/cli/progress.js';
import { formatJsonLine } from '../../../src/cli/json-logger.js';

const snap = { file: '/d/20170929000100.tsv.gz', fileIndex: 1, files: 3, bytesRead: 250, bytesTotal: 1000, lines: 300_000, errors: 12, runBytesRead: 250 };

test('the progress line shows file, %, rate, ETA and errors', () => {
  const line = renderProgress(snap, 2, { color: false, columns: 200 }, 125);
  assert.equal(line, '[2/3] 20170929000100.tsv.gz  25.0%  150.0k lines/s  ETA 6s  12 errors');
});

test('errors are red only with color; the line never wraps', () => {
  assert.match(renderProgress(snap, 2, { color: true, columns: 200 }, 125), /\x1b\[31m12 errors\x1b\[0m/);
  assert.ok(renderProgress(snap, 2, { color: false, columns: 30 }, 125).length < 30);
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

/**
 * The ETA on a fake clock: a run of two 100 MB files read at a steady 1 MB/s, in bursts (a batch
 * every 0.5 s, drawn every 0.25 s). Seconds from the start are what the line should say.
 */
function etaRun() {
  const MB = 1_000_000;
  let nowMs = 0;
  let snap: ProgressSnapshot = { file: '/d/20170929000000.tsv.gz', fileIndex: 0, files: 2, bytesRead: 0, bytesTotal: 100 * MB, lines: 0, errors: 0, runBytesRead: 0 };
  let last = '';
  const stream = { write: (s: string) => ((last = s), true) } as unknown as NodeJS.WriteStream;
  const line = new ProgressLine(stream, { color: false, columns: 200 }, () => snap, () => nowMs);
  const shown: { t: number; eta: string; truth: number }[] = [];
  for (let tick = 1; tick <= 4 * 200; tick++) {
    nowMs = tick * 250;
    const read = Math.floor(nowMs / 500) * 0.5 * MB; // bursts of 0.5 MB every 0.5 s
    const file = Math.min(1, Math.floor(read / (100 * MB)));
    const inFile = read - file * 100 * MB;
    if (file === 1 && inFile === 0 && snap.fileIndex === 0) snap = { ...snap, file: '/d/20170929000100.tsv.gz', fileIndex: 1, bytesRead: 0 };
    snap = { ...snap, bytesRead: inFile, runBytesRead: read, lines: read / 300 };
    if (file === 1 && inFile >= 100 * MB) break;
    line.draw();
    const eta = /ETA (\S+)/.exec(last)?.[1] ?? '';
    shown.push({ t: nowMs / 1000, eta, truth: (100 * MB - inFile) / MB });
  }
  return shown;
}

function seconds(eta: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(eta);
  if (!m || eta === '') return NaN;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

test('the ETA does not jump on the first percent of a file: the rate is smoothed over the run', () => {
  const shown = etaRun();
  // The second file's first percent: the old ETA divided by the whole run's time and said hours.
  const early = shown.filter((s) => s.t > 101 && s.t <= 102);
  assert.ok(early.length > 0);
  for (const s of early) assert.ok(Math.abs(seconds(s.eta) - s.truth) <= 0.2 * s.truth, `at ${s.t}s: ETA ${s.eta}, about ${s.truth}s left`);
  // Once it shows a figure, it stays within 20% (+2 s of rounding) of the truth, in both files.
  for (const s of shown.filter((x) => x.eta !== '--')) {
    assert.ok(Math.abs(seconds(s.eta) - s.truth) <= 0.2 * s.truth + 2, `at ${s.t}s: ETA ${s.eta}, about ${s.truth}s left`);
  }
});

test('no ETA until there is enough data to tell the rate', () => {
  const shown = etaRun();
  assert.equal(shown[0]?.eta, '--', 'a quarter second into the run');
  assert.ok(shown.filter((s) => s.t <= 1).every((s) => s.eta === '--'), JSON.stringify(shown.slice(0, 4)));
  assert.ok(shown.filter((s) => s.t >= 3).every((s) => s.eta !== '--'), 'a figure once the rate is known');
});
