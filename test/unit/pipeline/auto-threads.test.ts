/**
 * `--workers auto` (pipeline/auto-threads.ts, issue #19): the rule that starts encoder threads,
 * judged on injected readings, and the encoder that follows it: inline first, a WorkerPool once
 * the rule (or the test hook) says so, never back.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { AutoEncoder, autoTestHook, processProbe, threadsToStart, type AutoStart, type ProbeWindow } from '../../../src/pipeline/auto-threads.js';
import type { ChunkResult } from '../../../src/pipeline/chunk-types.js';
import { encodeSettings, plainResult } from '../../helpers/encode.js';

const w = (busy: number, idleCores: number): ProbeWindow => ({ busy, idleCores });

test('threads start only after two windows in a row of a saturated main thread and an idle core', () => {
  assert.equal(threadsToStart([], 2), 0, 'no reading yet');
  assert.equal(threadsToStart([w(1, 1)], 2), 0, 'one window is not enough');
  assert.equal(threadsToStart([w(1, 1), w(1, 1)], 2), 1);
  assert.equal(threadsToStart([w(0.9, 0.75), w(0.9, 0.75)], 2), 1, 'the thresholds themselves start threads');
  assert.equal(threadsToStart([w(0.89, 1), w(1, 1)], 2), 0, 'main thread not saturated in one window');
  assert.equal(threadsToStart([w(1, 1), w(0.5, 1)], 2), 0, 'nor in the latest');
  assert.equal(threadsToStart([w(1, 0.74), w(1, 1.9)], 2), 0, 'no core idle in one window');
  assert.equal(threadsToStart([w(1, 0), w(1, 1), w(1, 1)], 2), 1, 'only the latest two windows count');
});

test('as many threads as cores sat idle in the leaner window, rounded: 1 at least, the cores at most', () => {
  assert.equal(threadsToStart([w(1, 3.4), w(1, 2.6)], 8), 3);
  assert.equal(threadsToStart([w(1, 7.9), w(1, 7.6)], 8), 8);
  assert.equal(threadsToStart([w(1, 7.9), w(1, 7.6)], 4), 4, 'never more than the cores');
  assert.equal(threadsToStart([w(1, 0.8), w(1, 0.8)], 8), 1, 'rounds down to 0, but 1 at least');
  assert.equal(threadsToStart([w(1, 1.4), w(1, 5)], 1), 1);
});

test('the test hook reads AFTER:THREADS and nothing else', () => {
  assert.deepEqual(autoTestHook({ MEMC_LOAD_TEST_AUTO_THREADS: '3:2' }), { after: 3, threads: 2 });
  assert.deepEqual(autoTestHook({ MEMC_LOAD_TEST_AUTO_THREADS: '0:0' }), { after: 0, threads: 1 });
  assert.equal(autoTestHook({}), null);
  assert.equal(autoTestHook({ MEMC_LOAD_TEST_AUTO_THREADS: 'yes' }), null);
});

test("the process's probe reads a spinning main thread as busy and a sleeping one as not", async () => {
  // The event loop must have started: before it has, Node reports its utilisation as 0 (seen on
  // Node 24, where this file's synchronous tests run before the loop's first turn). The loader
  // only probes from a timer, with the loop well under way.
  await new Promise((resolve) => setImmediate(resolve));
  const read = processProbe();
  const until = Date.now() + 300;
  while (Date.now() < until); // the main thread saturated: no event-loop idle time at all
  const spun = read();
  await sleep(300);
  const slept = read();
  assert.ok(spun.busy > 0.9, `spinning: busy ${spun.busy}`);
  assert.ok(slept.busy < 0.5, `sleeping: busy ${slept.busy}`);
  for (const r of [spun, slept]) assert.ok(r.idleCores >= 0 && Number.isFinite(r.idleCores), `idle cores ${r.idleCores}`);
});

const LABELS = ['10.0.0.1:1', '10.0.0.2:2', '10.0.0.3:3', '10.0.0.4:4'];
const TYPES = ['idfa', 'gaid', 'adid', 'dvid'];
/** A chunk of `lines` clean lines of chunk `n`, in memory of its own (it may be transferred to a thread). */
const chunk = (n: number, lines = 50) => {
  let text = '';
  for (let i = 0; i < lines; i++) text += `${TYPES[(n + i) % 4]}\t${(n * 1000 + i).toString(16).padStart(32, '0')}\t55.5\t42.25\t1,${n},${i}\n`;
  const b = Buffer.alloc(Buffer.byteLength(text));
  b.write(text);
  return b;
};

/** An AutoEncoder whose results are collected by seq, with synchronous arrivals told apart. */
function autoEncoder(probe: (() => ProbeWindow) | undefined, force: { after: number; threads: number } | null = null) {
  const got = new Map<number, ChunkResult>();
  const starts: AutoStart[] = [];
  const errors: Error[] = [];
  const settings = encodeSettings({ serverLabels: LABELS });
  const enc = new AutoEncoder(settings, (seq, result) => got.set(seq, result), (e) => errors.push(e), {
    cores: 2,
    keepThreads: false,
    onStart: (s) => starts.push(s),
    probe,
    intervalMs: 5,
    force,
  });
  const until = async (n: number) => {
    for (let i = 0; i < 2000 && got.size < n; i++) await sleep(5);
    assert.equal(got.size, n, 'every chunk came back');
  };
  return { enc, got, starts, errors, until };
}

/** Results by seq, their frames as bytes. */
const plain = (got: Map<number, ChunkResult>) => [...got].sort((a, b) => a[0] - b[0]).map(([seq, r]) => [seq, plainResult(r)]);

/** What each chunk gives encoded inline: the reference the threads must match. */
function inlineResults(n: number) {
  const ref = autoEncoder(() => w(0, 0));
  for (let i = 0; i < n; i++) ref.enc.submit(i, chunk(i));
  void ref.enc.close();
  return plain(ref.got);
}

test('auto parses inline while the probe reads no need, and starts a pool once it does; results match inline', async () => {
  let saturated = false;
  const a = autoEncoder(() => (saturated ? w(0.97, 1.2) : w(0.97, 0.1)));
  assert.equal(a.enc.inPlace(), true);
  a.enc.submit(0, chunk(0));
  assert.equal(a.got.size, 1, 'inline: the result is there at once');
  await sleep(40);
  assert.equal(a.enc.threads, 0, 'no idle core: still inline after several windows');
  a.enc.submit(1, chunk(1));
  assert.equal(a.got.size, 2);
  saturated = true;
  for (let i = 0; i < 200 && a.enc.threads === 0; i++) await sleep(5);
  assert.equal(a.enc.threads, 1, 'one core idle: one thread');
  assert.equal(a.enc.inPlace(), false, 'a thread takes the next chunk: no view will do');
  assert.equal(a.starts.length, 1);
  assert.equal(a.starts[0]?.forced, false);
  assert.deepEqual(a.starts[0]?.windows.at(-1), w(0.97, 1.2), 'the log line gets the windows that decided it');
  for (let i = 2; i < 8; i++) a.enc.submit(i, chunk(i));
  assert.ok(a.got.size < 8, 'later chunks went to the thread, not inline');
  await a.until(8);
  await sleep(30);
  assert.equal(a.starts.length, 1, 'started once, never again');
  await a.enc.close();
  assert.deepEqual(a.errors, []);
  assert.deepEqual(plain(a.got), inlineResults(8));
});

test('the test hook starts the threads after AFTER chunks, whatever the probe would read', async () => {
  const a = autoEncoder(undefined, { after: 3, threads: 2 });
  for (let i = 0; i < 3; i++) {
    assert.equal(a.enc.inPlace(), true, 'a chunk that will be encoded inline may be a view');
    a.enc.submit(i, chunk(i));
  }
  assert.equal(a.got.size, 3, 'the first three inline');
  assert.equal(a.enc.threads, 0);
  // The hook starts the threads inside the next submit: that chunk must already be one of its own.
  assert.equal(a.enc.inPlace(), false);
  for (let i = 3; i < 9; i++) a.enc.submit(i, chunk(i));
  assert.equal(a.enc.inPlace(), false);
  assert.equal(a.enc.threads, 2);
  assert.deepEqual(a.starts, [{ threads: 2, windows: [], forced: true }]);
  await a.until(9);
  await a.enc.close();
  assert.deepEqual(a.errors, []);
  assert.deepEqual(plain(a.got), inlineResults(9));
});
