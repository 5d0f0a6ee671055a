/**
 * A split SIGKILLed part-way (the worker running it died) leaves segments half-written under
 * temporary names and no manifest: nobody takes it for complete, and the next split of the file
 * completes with every line counted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { readManifest, splitFile, spoolFolder } from '../../../src/cluster/stages.js';
import { resolveOptions } from '../../../src/config/options.js';
import { generateLogs } from '../../../src/generate/index.js';
import { expectFrom } from '../../helpers/oracle.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-split-kill-');
after(() => scratch.remove());

const LABELS = ['127.0.0.1:41001,127.0.0.1:41002', '127.0.0.1:41003', '127.0.0.1:41004', '127.0.0.1:41005'];

test('a split killed mid-way leaves no manifest, and the next split completes', async () => {
  const gen = await generateLogs({ dir: scratch.dataset, files: 1, lines: 150_000, seed: 7, badRate: 0.001, repeatRate: 0.2 });
  const file = gen.files[0]!.path;
  const spool = join(scratch.root, 'spool');
  const folder = spoolFolder(file, spool);
  const runner = new URL('./split-run.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [runner, file, spool, ...LABELS], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  // Kill it once its segments are being written: their temp files exist.
  const deadline = performance.now() + 20_000;
  while (!(existsSync(folder) && readdirSync(folder).some((n) => n.endsWith('.seg.tmp')))) {
    assert.ok(performance.now() < deadline, 'the split started writing segments');
    assert.equal(out, '', 'the split must still be running when it is killed (make the file bigger)');
    await sleep(5);
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.equal(out, '', 'killed before it finished');
  const left = readdirSync(folder);
  assert.ok(left.some((n) => n.endsWith('.tmp')), `partial segments are left (${left.join(' ')})`);
  assert.ok(!left.includes('manifest.json'), 'no manifest');
  assert.equal(await readManifest(file, spool), undefined);

  const opts = resolveOptions({ servers: { idfa: LABELS[0], gaid: LABELS[1], adid: LABELS[2], dvid: LABELS[3] }, workers: 1, batchBytes: 16384 });
  const m = await splitFile(file, spool, opts);
  const expected = expectFrom([file]);
  assert.equal(m.lines, expected.lines);
  assert.equal(m.records, expected.records.length);
  assert.deepEqual(await readManifest(file, spool), m);
  for (const lane of m.lanes) assert.ok(lane.segment !== null && readdirSync(folder).includes(lane.segment), `${lane.server}: its segment is in place`);
});
