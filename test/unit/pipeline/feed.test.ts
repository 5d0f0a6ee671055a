/**
 * The feed (read → encode → route), the one copy both modes run (issue #18, item 1b): the single
 * host hands a lane's frames to its connection, the cluster's split to its segment. Here a sink
 * of our own takes them, so what the feed routes is checked apart from either transport: every
 * record on its lane in line order, the file's counts, the samples, and the end with its reason.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { resolveOptions } from '../../../src/config/options.js';
import type { MemcLoadError } from '../../../src/errors.js';
import { Feed, type LaneSink } from '../../../src/pipeline/feed.js';
import { RoomWait } from '../../../src/pipeline/room.js';
import { FileTally } from '../../../src/report/file-tally.js';
import type { Logger } from '../../../src/report/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'memc-feed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const servers = { idfa: 'i:1', gaid: 'g:1,h:1', adid: 'a:1', dvid: 'd:1' };
const id = (n: number) => n.toString(16).padStart(32, '0');

/** Good lines of three types (gaid a pool of two), bad lines, and one line over --max-line-bytes. */
function lines(): string[] {
  const out: string[] = [];
  for (let n = 0; n < 3000; n++) {
    const type = ['idfa', 'gaid', 'adid'][n % 3] as string;
    out.push(`${type}\t${id(n % 1000)}\t${n}.5\t-${n}.25\t${n},${n + 1}`);
    if (n % 500 === 7) out.push('idfa\tonly-three\tfields');
    if (n % 700 === 9) out.push(`gaid\t${id(n)}\t1\t2\t${'9,'.repeat(100)}9`);
    if (n === 1234) out.push('');
  }
  return out;
}

interface Routed {
  readonly keys: string[][];
  readonly ended: { error: MemcLoadError | null; why: string | null }[];
  readonly warnings: string[];
}

async function feedFile(path: string, over: Parameters<typeof resolveOptions>[0]): Promise<{ tally: FileTally; routed: Routed; error: MemcLoadError | null }> {
  const opts = resolveOptions({ servers, batchBytes: 4096, maxLineBytes: 128, ...over });
  const routed: Routed = { keys: [[], [], [], [], []], ended: [], warnings: [] };
  const room = new RoomWait();
  const log: Logger = { log: (level, message) => void (level === 'warn' && routed.warnings.push(message)) };
  const sink: LaneSink = {
    lane: (_file, lane, frames, records) => {
      const text = Buffer.from(frames).toString('latin1');
      const keys = [...text.matchAll(/^ms (\S+) /gm)].map((m) => m[1] as string);
      assert.equal(keys.length, records, `lane ${lane}: records counted as framed`);
      assert.ok(text.endsWith('mn\r\n'), 'each lane batch ends with its fence');
      (routed.keys[lane] as string[]).push(...keys);
      feed.recycle(frames.buffer as ArrayBuffer);
    },
    ended: (_file, error, why) => void routed.ended.push({ error, why }),
    full: () => false,
    stopped: () => null,
  };
  const feed = new Feed(opts, sink, { log, room, onFatal: (err) => assert.fail(err) });
  try {
    const tally = new FileTally(path, 0, 0);
    const error = await feed.read(tally);
    feed.end(tally, error);
    await room.until(() => routed.ended.length > 0);
    return { tally, routed, error };
  } finally {
    await feed.close();
  }
}

function expectedLanes(text: readonly string[]): string[][] {
  const lanes: string[][] = [[], [], [], [], []];
  for (const line of text) {
    const f = line.split('\t');
    if (f.length !== 5 || line.length > 128) continue;
    const base = { idfa: 0, gaid: 1, adid: 3, dvid: 4 }[f[0] as string] as number;
    lanes[base]?.push(`${f[0]}:${f[1]}`);
  }
  return lanes;
}

for (const [name, over] of [
  ['inline, no worker thread', { workers: 0, gunzip: 'inline' }],
  ['two worker threads, gunzip on the pool', { workers: 2, gunzip: 'pool' }],
] as const) {
  test(`feed (${name}): every record on its lane in line order, the counts, the samples`, async () => {
    const text = lines();
    const path = join(dir, `${name.replace(/\W+/g, '-')}.tsv.gz`);
    writeFileSync(path, gzipSync(`${text.join('\n')}\n`));
    const { tally, routed, error } = await feedFile(path, over);
    assert.equal(error, null);
    assert.deepEqual(routed.ended, [{ error: null, why: null }]);
    const want = expectedLanes(text);
    assert.deepEqual(routed.keys[0], want[0], 'idfa, one server: every key in line order');
    assert.deepEqual(routed.keys[3], want[3], 'adid, one server: every key in line order');
    assert.deepEqual(routed.keys[4], [], 'no dvid line');
    // gaid is a pool of two: each key on one node, the two nodes together every gaid line in order.
    const gaid = [...(routed.keys[1] as string[]), ...(routed.keys[2] as string[])];
    assert.deepEqual([...gaid].sort(), [...(want[1] as string[])].sort());
    assert.ok((routed.keys[1] as string[]).length > 0 && (routed.keys[2] as string[]).length > 0, 'both nodes of the pool get keys');
    for (const lane of [1, 2]) {
      const mine = new Set(routed.keys[lane]);
      assert.deepEqual(routed.keys[lane], (want[1] as string[]).filter((k) => mine.has(k)), `gaid node ${lane}: its keys in line order`);
    }
    const report = tally.report(0.5, false);
    assert.equal(report.lines, text.filter((l) => l !== '').length);
    assert.equal(report.blankLines, 1);
    assert.equal(report.rejected.fields, 6);
    assert.equal(report.rejected.too_long, 5);
    assert.ok(routed.warnings.some((w) => /rejected \(too_long\)/.test(w)), 'an over-long line is sampled to the log');
    assert.ok(routed.warnings.some((w) => /rejected \(fields\)/.test(w)), 'a bad line is sampled to the log');
  });
}

test('feed: a file that breaks part-way routes its whole lines before the break, then ends with why', async () => {
  const text = lines();
  const gz = gzipSync(`${text.join('\n')}\n`);
  const path = join(dir, 'broken.tsv.gz');
  writeFileSync(path, gz.subarray(0, Math.floor(gz.length * 0.6)));
  const { tally, routed, error } = await feedFile(path, { workers: 0 });
  assert.ok(error !== null, 'reading stopped early');
  assert.equal(routed.ended.length, 1);
  assert.match(routed.ended[0]?.why ?? '', /, after line \d+ of the file \(blank lines included\)$/);
  assert.equal(tally.report(0.5, false).outcome, 'failed_load');
  const routedKeys = routed.keys.flat().length;
  assert.ok(routedKeys > 0 && routedKeys < expectedLanes(text).flat().length, `some but not all records routed (${routedKeys})`);
});

test('feed: with chunks past a full log left undescribed, the log still has exactly the first --log-rejected samples, in line order', async () => {
  // About one bad line per 4 KiB chunk, so the cap fills over several chunks.
  const text: string[] = [];
  const bad: number[] = [];
  for (let n = 0; n < 4000; n++) {
    if (n % 97 === 5) {
      text.push(`idfa\tbad-${n}\tfields`);
      bad.push(text.length);
    } else text.push(`adid\t${id(n)}\t1.5\t2.5\t${n}`);
  }
  for (const workers of [0, 2]) {
    const path = join(dir, `cap-${workers}.tsv.gz`);
    writeFileSync(path, gzipSync(`${text.join('\n')}\n`));
    const { tally, routed } = await feedFile(path, { workers, gunzip: 'inline', logRejected: 4 });
    const samples = routed.warnings.filter((w) => /rejected \(fields\)/.test(w));
    assert.deepEqual(
      samples.map((w) => Number(/:(\d+): rejected/.exec(w)?.[1])),
      bad.slice(0, 4),
      `workers ${workers}: the first four bad lines, by number`,
    );
    assert.equal(tally.report(1, false).rejected.fields, bad.length, 'every bad line counted');
    assert.ok(routed.warnings.some((w) => new RegExp(`${bad.length - 4} more rejected line\\(s\\) not logged`).test(w)), 'the summary counts the rest');
  }
});
