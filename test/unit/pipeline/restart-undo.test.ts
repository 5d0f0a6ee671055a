import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { markPending } from '../../../src/logfile/mark-done.js';
import type { LossReport } from '../../../src/memcached/eviction-watch.js';
import { mvCommand, renamesToUndo, RestartGuard, undoRenames, type Finalized } from '../../../src/pipeline/restart-undo.js';
import type { LogLevel } from '../../../src/report/logger.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-undo-'));
after(() => rmSync(root, { recursive: true, force: true }));

const files = (renamed: number, total: number): Finalized[] =>
  Array.from({ length: total }, (_, index) => ({ index, path: `/logs/2017092900${String(index).padStart(2, '0')}00.tsv.gz`, renamed: index < renamed }));

describe('renamesToUndo', () => {
  it('the renamed files from the failing one on, newest first', () => {
    assert.deepEqual(renamesToUndo(files(4, 6), 2).map((f) => f.index), [3, 2]);
  });
  it('nothing when the failing file is past the renamed ones, or nothing was renamed', () => {
    assert.deepEqual(renamesToUndo(files(2, 6), 3), []);
    assert.deepEqual(renamesToUndo(files(0, 6), 0), []);
  });
  it('every renamed file when the first file reached the server', () => {
    assert.deepEqual(renamesToUndo(files(3, 3), 0).map((f) => f.index), [2, 1, 0]);
  });
});

describe('mvCommand', () => {
  it('moves the done name back, quoted for a POSIX shell, even with quotes and spaces in the path', () => {
    assert.equal(mvCommand('/logs/20170929000000.tsv.gz'), `mv -- '/logs/.20170929000000.tsv.gz' '/logs/20170929000000.tsv.gz'`);
    const dir = join(root, `it's a dir`);
    mkdirSync(dir);
    writeFileSync(join(dir, '.x.tsv.gz'), 'data');
    execFileSync('sh', ['-c', mvCommand(join(dir, 'x.tsv.gz'))]);
    assert.deepEqual(readdirSync(dir), ['x.tsv.gz']);
  });
});

describe('undoRenames (real files)', () => {
  const setup = (name: string, n: number) => {
    const dir = join(root, name);
    mkdirSync(dir);
    const list = Array.from({ length: n }, (_, index) => {
      const path = join(dir, `2017092900${index}000.tsv.gz`);
      writeFileSync(join(dir, `.2017092900${index}000.tsv.gz`), `file ${index}`);
      return { index, path, renamed: true };
    });
    return { dir, list };
  };

  it('renames each back, newest first', async () => {
    const { dir, list } = setup('ok', 3);
    const order: number[] = [];
    const results = await undoRenames(renamesToUndo(list, 1), async (p) => {
      order.push(list.findIndex((f) => f.path === p));
      await markPending(p);
    });
    assert.deepEqual(order, [2, 1]);
    assert.deepEqual(results.map((r) => [r.index, r.undone, r.command]), [[2, true, null], [1, true, null]]);
    assert.deepEqual(readdirSync(dir).sort(), ['.20170929000000.tsv.gz', '20170929001000.tsv.gz', '20170929002000.tsv.gz']);
  });

  it('a file in the way of the original name: not replaced, the undo stops there, and every file left gets its command', async () => {
    const { dir, list } = setup('blocked', 3);
    writeFileSync(list[1]!.path, 'in the way');
    const results = await undoRenames(renamesToUndo(list, 0));
    assert.deepEqual(results.map((r) => [r.index, r.undone]), [[2, true], [1, false], [0, false]]);
    assert.match(results[1]!.why ?? '', /EEXIST: .*20170929001000\.tsv\.gz already exists/);
    assert.equal(results[1]!.command, mvCommand(list[1]!.path));
    assert.equal(results[2]!.command, mvCommand(list[0]!.path));
    assert.match(results[2]!.why ?? '', /20170929001000\.tsv\.gz could not be renamed back first/);
    // The done files are still a prefix: 0 and 1.
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')).sort(), ['.20170929000000.tsv.gz', '.20170929001000.tsv.gz']);
    assert.ok(existsSync(list[2]!.path));
  });
});

describe('RestartGuard', () => {
  const loss = (restarts: LossReport['restarts']): LossReport => ({ evictions: {}, storeNoMemory: {}, unknown: {}, restarts, lost: {}, skipped: [], unreachable: {} });
  // Started after every acknowledgement these tests make.
  const restart = { previousPid: '10', pid: '11', uptime: 2, startedAt: Number.MAX_SAFE_INTEGER, evidence: 'pid 10 -> 11' };
  const logged: [LogLevel, string][] = [];
  const log = { log: (level: LogLevel, m: string) => void logged.push([level, m]) };
  const pathOf = (i: number) => `/logs/f${i}`;

  it('fails files from the first one the restarted server acknowledged; a later restart can only move that earlier', () => {
    const g = new RestartGuard();
    g.delivered('a:1', 2);
    g.delivered('a:1', 3);
    g.delivered('b:2', 1);
    assert.equal(g.failFrom, Infinity);
    assert.equal(g.noteRestarts(log, loss({ 'a:1': restart }), '/logs/f4', pathOf), true);
    assert.equal(g.failFrom, 2);
    assert.deepEqual(g.errorsFor(1), []);
    assert.deepEqual(g.errorsFor(2), ['memcached a:1 restarted (pid 10 -> 11) while /logs/f4 settled: records this run stored there may be gone']);
    assert.ok(logged.some(([l, m]) => l === 'error' && m.includes('/logs/f2, the first file with records there, and every later file fail to load')));
    assert.ok(logged.some(([l, m]) => l === 'error' && m.startsWith('memcached a:1 restarted: what earlier runs stored there is gone too')));
    assert.equal(g.noteRestarts(log, loss({ 'a:1': restart }), '/logs/f5', pathOf), false, 'no earlier file: nothing more to undo');
    assert.equal(g.noteRestarts(log, loss({ 'b:2': restart }), '/logs/f5', pathOf), true);
    assert.equal(g.failFrom, 1);
    assert.equal(g.errorsFor(3).length, 3);
  });

  it('a restarted server that acknowledged nothing of this run fails no file, and says why', () => {
    const g = new RestartGuard();
    g.delivered('a:1', 0);
    logged.length = 0;
    assert.equal(g.noteRestarts(log, loss({ 'c:3': restart }), '/logs/f0', pathOf), false);
    assert.equal(g.failFrom, Infinity);
    assert.match(logged[0]![1], /memcached c:3 restarted \(pid 10 -> 11\) while \/logs\/f0 settled: it had acknowledged no record of this run/);
  });

  it('firstAck: when the server first acknowledged a record of this run', () => {
    const g = new RestartGuard();
    assert.equal(g.firstAck('a:1'), undefined);
    const t = performance.now();
    g.delivered('a:1', 5);
    g.delivered('a:1', 6);
    assert.ok((g.firstAck('a:1') ?? 0) >= t);
  });
});

describe('RestartGuard: a lost server is a restart (issue #18, item 5)', () => {
  const lossOf = (lost: LossReport['lost'], restarts: LossReport['restarts'] = {}): LossReport => ({
    evictions: {},
    storeNoMemory: {},
    unknown: { ...lost },
    restarts,
    lost,
    skipped: [],
    unreachable: {},
  });
  const logged: [LogLevel, string][] = [];
  const log = { log: (level: LogLevel, m: string) => void logged.push([level, m]) };
  const pathOf = (i: number) => `/logs/f${i}`;

  it('fails files from the first one it acknowledged, says why, and is not asked about again in the run', () => {
    const g = new RestartGuard();
    g.delivered('a:1', 1);
    g.delivered('a:1', 2);
    assert.equal(g.noteRestarts(log, lossOf({ 'a:1': 'could not read stats: ECONNREFUSED' }), '/logs/f3', pathOf), true);
    assert.equal(g.failFrom, 1);
    assert.deepEqual(g.errorsFor(0), []);
    assert.match(g.errorsFor(3)[0] ?? '', /memcached a:1 could not be read while \/logs\/f3 settled \(could not read stats: ECONNREFUSED\), after it acknowledged records of this run: it may have restarted and lost them/);
    assert.ok(logged.some(([l, m]) => l === 'error' && m.includes('counts as restarted; /logs/f1, the first file with records there, and every later file fail to load')));
    assert.equal(g.firstAck('a:1'), undefined, 'decided: not read again and again in this run');
    assert.equal(g.noteRestarts(log, lossOf({ 'a:1': 'again' }), '/logs/f4', pathOf), false);
    assert.equal(g.errorsFor(4).length, 1);
  });

  it('a lost server that acknowledged nothing of this run fails nothing', () => {
    const g = new RestartGuard();
    assert.equal(g.noteRestarts(log, lossOf({ 'a:1': 'x' }), '/logs/f0', pathOf), false);
    assert.equal(g.failFrom, Infinity);
  });

  it('a restart before the server acknowledged anything of this run (between watch rounds) fails nothing', () => {
    const g = new RestartGuard();
    g.delivered('a:1', 0);
    const at = g.firstAck('a:1')!;
    const early = { previousPid: '10', pid: '11', uptime: 60, startedAt: at - 60_000, evidence: 'pid 10 -> 11' };
    logged.length = 0;
    assert.equal(g.noteRestarts(log, lossOf({}, { 'a:1': early }), '/logs/f0', pathOf), false);
    assert.equal(g.failFrom, Infinity);
    assert.match(logged[0]![1], /it restarted before it acknowledged any record of this run, so no file of this run lost anything there/);
    const late = { ...early, startedAt: at - 1000 };
    assert.equal(g.noteRestarts(log, lossOf({}, { 'a:1': late }), '/logs/f0', pathOf), true, 'near the first ack: counted as after it');
  });
});
