/**
 * A split's share of its host (issue #19 item 4): worker processes on one host split with
 * cores ÷ processes threads each, inline at one core or less, never more than the plan's --workers.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HostShare, splitThreads } from '../../../src/queue/host-share.js';

const root = mkdtempSync(join(tmpdir(), 'memc-load-host-share-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const folder = (): string => join(root, String(n++));

test('one worker process on a host: the plan\'s --workers, up to the cores', () => {
  assert.equal(splitThreads(2, 2, 1, 1), 2);
  assert.equal(splitThreads(8, 4, 1, 1), 4);
  assert.equal(splitThreads(2, 8, 1, 1), 2);
  assert.equal(splitThreads(0, 8, 1, 1), 0);
});

test('worker processes or splits sharing the cores: each takes its share; one core or less parses inline', () => {
  assert.equal(splitThreads(2, 2, 2, 1), 0);
  assert.equal(splitThreads(2, 2, 1, 2), 0);
  assert.equal(splitThreads(4, 4, 2, 1), 2);
  assert.equal(splitThreads(4, 3, 2, 1), 0);
  assert.equal(splitThreads(8, 8, 2, 2), 2);
  assert.equal(splitThreads(2, 1, 1, 1), 0);
});

test('the plan\'s auto stays auto only for a split with the host to itself; a smaller share is a fixed count', () => {
  assert.equal(splitThreads('auto', 2, 1, 1), 'auto');
  assert.equal(splitThreads('auto', 8, 1, 1), 'auto');
  assert.equal(splitThreads('auto', 4, 2, 1), 2);
  assert.equal(splitThreads('auto', 8, 1, 2), 4);
  assert.equal(splitThreads('auto', 2, 2, 1), 0);
  assert.equal(splitThreads('auto', 1, 1, 1), 0);
});

test('the processes of a host are counted by their files: alive ones only, this one always', async () => {
  const dir = folder();
  const me = new HostShare(dir);
  assert.equal(me.processes(), 1, 'no folder yet: this process alone');
  me.register();
  assert.equal(me.processes(), 1);
  // Another live process registered (a child that stays up meanwhile), and one that died without its stop.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  try {
    new HostShare(dir, child.pid as number).register();
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(join(dir, String(dead.pid)), 'x\n');
    writeFileSync(join(dir, 'not-a-pid'), 'x\n');
    assert.equal(me.processes(), 2);
    assert.equal(existsSync(join(dir, String(dead.pid))), false, 'a dead process\'s file is removed');
    assert.equal(me.threads(2, 1, 2), 0, 'two processes on two cores: inline');
    assert.equal(me.threads(4, 1, 4), 2);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  assert.equal(me.processes(), 1, 'the child is gone');
  me.unregister();
  assert.deepEqual(readdirSync(dir).filter((f) => f === String(process.pid)), []);
});

test('a folder that cannot be made leaves the process counted alone', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  const me = new HostShare(join(file, 'sub'));
  me.register();
  assert.equal(me.processes(), 1);
  assert.equal(me.threads(2, 1, 2), 2);
  me.unregister();
});
