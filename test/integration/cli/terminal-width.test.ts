/**
 * The summary table on a real terminal of 80 and 200 columns (issue #12): script(1) gives the bin a
 * pseudo-terminal whose width `stty cols` sets, so process.stderr.columns is what a user's would be.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateLogs } from '../../../src/generate/index.js';
import { serverArgs } from '../../helpers/cli.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { repoRoot } from '../../helpers/paths.js';
import { Scratch } from '../../helpers/scratch.js';

const scratch = new Scratch('memc-load-width-');
let labels: string[];

before(async () => {
  await generateLogs({ dir: scratch.dataset, files: 2, lines: 2000, seed: 41, badRate: 0.01 });
  labels = (await startServers(4)).map((s) => s.address.label);
});
after(async () => {
  await stopAll();
  scratch.remove();
});

/** What the terminal shows at the end: the text after the last progress redraw, line by line. */
async function onTerminal(columns: number, dir: string): Promise<string[]> {
  // The log goes to a file, so the terminal shows only the progress line and the table.
  const argv = [process.execPath, join(repoRoot(), 'bin/memc-load.js'), '--log', join(scratch.root, `${columns}.log`), '--pattern', join(dir, '*.tsv.gz'), ...serverArgs(labels)];
  const shell = `stty cols ${columns} rows 40; ${argv.map((a) => `'${a}'`).join(' ')}`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('script', ['-qfec', shell, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`exit ${code}: ${Buffer.concat(chunks)}`))));
  });
  const table = out.slice(out.lastIndexOf('\x1b[2K') + 4);
  return table.replace(/\r/g, '').trim().split('\n');
}

test('on an 80-column terminal no summary line is wider than 80; on 200 the full table', async () => {
  const narrow = await onTerminal(80, scratch.copy('80'));
  assert.ok(narrow.some((l) => /20170929000000\.tsv\.gz/.test(l)) && narrow.some((l) => /total \(2 files\)/.test(l)), narrow.join('\n'));
  for (const l of narrow) assert.ok(l.length <= 80, `${l.length} columns: ${l}`);

  const wide = await onTerminal(200, scratch.copy('200'));
  assert.match(wide[0] as string, /^file\s+lines\s+loaded\s+rejected\s+by reason\s+failed writes\s+error rate\s+time\s+lines\/s\s+renamed\s+outcome$/, wide.join('\n'));
  assert.ok(wide.some((l) => l.length > 120), 'the full table is wider than 120');
});
