/**
 * The settle stage against a sequence of file outcomes, on real files (it renames them): reports
 * in file order whatever order files settle in, renames up to the first failure (the watermark),
 * and which file holds a later one back.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileTally } from '../../../src/report/file-tally.js';
import { silentLogger } from '../../../src/report/logger.js';
import type { FileReport } from '../../../src/report/file-report.js';
import { Settler } from '../../../src/pipeline/settle.js';
import { settled } from '../../helpers/tally.js';

const root = mkdtempSync(join(tmpdir(), 'memc-settle-'));
after(() => rmSync(root, { recursive: true, force: true }));

function setup(name: string, n: number, dry = false) {
  const dir = join(root, name);
  const paths = Array.from({ length: n }, (_, i) => join(dir, `2017092900${i}000.tsv.gz`));
  mkdirSync(dir);
  for (const p of paths) writeFileSync(p, 'x');
  const finished: FileReport[] = [];
  let passes = 0;
  const settler = new Settler({
    maxErrorRate: 0.01,
    dry,
    failOnEvictions: false,
    log: silentLogger,
    observer: { fileFinished: (r) => finished.push(r) },
    readLosses: null,
    onPass: () => passes++,
  });
  const tallies = paths.map((p, i) => {
    const t = new FileTally(p, i, 0);
    t.addChunk({ lines: 10, nonBlank: 10, rejected: {}, appWarnings: 0 });
    t.addSent(10);
    settler.add(t);
    return t;
  });
  return { dir, paths, settler, tallies, finished, passes: () => passes };
}

/** Settles file `t`: read to its end, its one batch stored (or given up, with `lost`). */
function settle(t: FileTally, lost = false): void {
  t.endOfInput(null);
  t.batchSettled(lost ? settled('a:1', { failed: 10, error: new Error('gave up on memcached a:1') }) : settled('a:1', { loaded: 10 }));
}

test('files are reported and renamed in order, whatever order they settle in', async () => {
  const { dir, settler, tallies, finished, passes } = setup('order', 3);
  settle(tallies[2] as FileTally);
  settle(tallies[1] as FileTally);
  settler.check();
  await settler.flush();
  assert.equal(finished.length, 0, 'nothing before file 0 has settled');
  assert.equal(settler.done, false);
  settle(tallies[0] as FileTally);
  settler.check();
  await settler.flush();
  assert.deepEqual(finished.map((r) => [r.outcome, r.renamed]), [
    ['succeeded', true],
    ['succeeded', true],
    ['succeeded', true],
  ]);
  assert.equal(settler.done, true);
  assert.equal(passes(), 2, 'the loader is woken after every pass');
  assert.deepEqual(readdirSync(dir).sort(), ['.20170929000000.tsv.gz', '.20170929001000.tsv.gz', '.20170929002000.tsv.gz']);
});

test('a file that failed to load holds back every later one: not renamed, and says by which', async () => {
  const { dir, paths, settler, tallies, finished } = setup('held', 4);
  settle(tallies[0] as FileTally);
  settle(tallies[1] as FileTally, true);
  settle(tallies[2] as FileTally);
  settle(tallies[3] as FileTally);
  settler.check();
  await settler.flush();
  assert.deepEqual(finished.map((r) => [r.outcome, r.renamed]), [
    ['succeeded', true],
    ['failed_load', false],
    ['succeeded', false],
    ['succeeded', false],
  ]);
  assert.match(finished[1]?.error ?? '', /gave up on memcached a:1/);
  assert.deepEqual(finished.map((r) => r.heldBackBy), [null, null, paths[1], paths[1]], 'the report says which file holds it back');
  assert.equal(settler.heldBackBy(0), null);
  assert.equal(settler.heldBackBy(1), null, 'the failed file is not held back: it failed');
  assert.equal(settler.heldBackBy(2), paths[1]);
  assert.equal(settler.heldBackBy(3), paths[1]);
  assert.ok(existsSync(paths[2] as string) && existsSync(paths[3] as string), 'later files stay pending');
  assert.ok(existsSync(join(dir, '.20170929000000.tsv.gz')));
});

test('--dry renames nothing', async () => {
  const { paths, settler, tallies, finished } = setup('dry', 2, true);
  for (const t of tallies) settle(t);
  settler.check();
  await settler.flush();
  assert.deepEqual(finished.map((r) => r.renamed), [false, false]);
  assert.ok(paths.every((p) => existsSync(p)));
});
