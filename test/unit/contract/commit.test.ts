/**
 * One set of commit rules, two drivers (issue #18, item 1): the single host's RestartGuard
 * (fed EvictionWatch's LossReports) and the cluster's readings (a node's identity at the plan's
 * first write to it, read again through a ReadIdentity port, as queue/restart-watch.ts does)
 * both end in contract/commit.ts. Each row runs a run of files through both and requires the
 * same verdict per file and the same renames back, newest first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, failFrom, undoFrom, type Verdict } from '../../../src/contract/commit.js';
import { lossOf, nodeState, readNodes, type Loss } from '../../../src/contract/node-loss.js';
import type { LossReport } from '../../../src/memcached/eviction-watch.js';
import type { Identity } from '../../../src/memcached/restart-rule.js';
import { RestartGuard } from '../../../src/pipeline/restart-undo.js';
import type { FileOutcome } from '../../../src/report/file-report.js';

interface Row {
  readonly name: string;
  readonly outcomes: readonly FileOutcome[];
  /** Node → the first file whose records it acknowledged. */
  readonly first: Readonly<Record<string, number>>;
  /** As file `at` commits, `node` is found restarted or lost. */
  readonly event?: { readonly at: number; readonly node: string; readonly kind: 'restarted' | 'lost' };
  /** Per file: r(enamed), f(ailed), h(eld back), as each settles. */
  readonly verdicts: string;
  /** Files renamed back, in the order they go back. */
  readonly undo: readonly number[];
}

const ROWS: readonly Row[] = [
  { name: 'all loaded, no loss', outcomes: ['succeeded', 'succeeded', 'failed_data'], first: { a: 0 }, verdicts: 'rrr', undo: [] },
  { name: 'a failed load holds the later ones back', outcomes: ['succeeded', 'failed_load', 'succeeded', 'succeeded'], first: { a: 0 }, verdicts: 'rfhh', undo: [] },
  { name: 'a restart fails from the first file the node held, and renames back newest first', outcomes: ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded'], first: { a: 0, b: 1 }, event: { at: 3, node: 'b', kind: 'restarted' }, verdicts: 'rrrff', undo: [2, 1] },
  { name: 'a lost node is a restart', outcomes: ['succeeded', 'succeeded', 'succeeded', 'succeeded'], first: { a: 0 }, event: { at: 2, node: 'a', kind: 'lost' }, verdicts: 'rrff', undo: [1, 0] },
  { name: 'a loss whose first file is later: the files before it load, none held back by it', outcomes: ['succeeded', 'succeeded', 'succeeded', 'succeeded'], first: { a: 0, b: 3 }, event: { at: 1, node: 'b', kind: 'lost' }, verdicts: 'rrrf', undo: [] },
  { name: 'a restart of a node that acknowledged nothing fails nothing', outcomes: ['succeeded', 'succeeded'], first: { a: 0 }, event: { at: 1, node: 'c', kind: 'restarted' }, verdicts: 'rr', undo: [] },
];

const letter = (v: Verdict) => ({ rename: 'r', fail: 'f', held: 'h' })[v.kind];

/** Runs the files in order: each one's losses, then its verdict; a loss renames back what it reaches. */
function drive(row: Row, lossesAt: (index: number) => readonly Loss[]): { verdicts: string; undo: number[] } {
  const renamed: boolean[] = [];
  const undo: number[] = [];
  let verdicts = '';
  let holder: string | null = null;
  let failing = Number.POSITIVE_INFINITY;
  for (let i = 0; i < row.outcomes.length; i++) {
    const losses = lossesAt(i);
    const from = failFrom(losses);
    if (from < failing) for (const f of undoFrom(from, renamed.map((r, index) => ({ index, path: `f${index}`, renamed: r })))) (undo.push(f.index), (renamed[f.index] = false));
    failing = from;
    const v = decide({ index: i, outcome: row.outcomes[i] as FileOutcome, error: null }, losses, holder);
    verdicts += letter(v);
    renamed.push(v.kind === 'rename');
    if (v.kind !== 'rename') holder ??= `f${i}`;
  }
  return { verdicts, undo };
}

function singleHost(row: Row): { verdicts: string; undo: number[] } {
  const g = new RestartGuard();
  for (const [node, index] of Object.entries(row.first)) g.delivered(node, index);
  const log = { log: () => {} };
  return drive(row, (i) => {
    if (row.event?.at === i) {
      const { node, kind } = row.event;
      const r = { previousPid: '1', pid: '2', uptime: 1, startedAt: performance.now() + 1e6, evidence: 'pid 1 -> 2' };
      const report: LossReport = { evictions: {}, storeNoMemory: {}, unknown: {}, restarts: kind === 'restarted' ? { [node]: r } : {}, lost: kind === 'lost' ? { [node]: 'ECONNREFUSED' } : {}, skipped: [], unreachable: {} };
      g.noteRestarts(log, report, `f${i}`, (x) => `f${x}`);
    }
    return g.losses;
  });
}

function cluster(row: Row): { verdicts: string; undo: number[] } {
  const at: Identity = { pid: '1', uptime: 100, at: 1_000_000 };
  const recorded: Loss[] = [];
  return drive(row, (i) => {
    if (row.event?.at === i) {
      const { node, kind } = row.event;
      const now = (lane: string): Identity | null => (lane !== node ? { pid: '1', uptime: 160, at: 1_060_000 } : kind === 'lost' ? null : { pid: '2', uptime: 3, at: 1_060_000 });
      // The commit reads the nodes the plan wrote to; a node it never wrote to has no first write to lose.
      for (const [lane, first] of Object.entries(row.first)) {
        const l = lossOf(lane, { index: first, file: `f${first}`, ackAt: null }, nodeState(at, now(lane)), () => `${lane} lost`);
        if (l !== null) recorded.push(l);
      }
    }
    return recorded;
  });
}

describe('contract/commit: both drivers, one outcome', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const want = { verdicts: row.verdicts, undo: [...row.undo] };
      assert.deepEqual(singleHost(row), want, 'single host (RestartGuard)');
      assert.deepEqual(cluster(row), want, 'cluster (identities at the first write)');
    });
  }
});

describe('contract/node-loss', () => {
  const first: Identity = { pid: '7', uptime: 50, at: 500_000 };
  it('same process, later: fine; new pid or a start moved later: restarted; unread: lost', () => {
    assert.equal(nodeState(first, { pid: '7', uptime: 60, at: 510_000 }).kind, 'fine');
    assert.equal(nodeState(first, { pid: '8', uptime: 60, at: 510_000 }).kind, 'restarted');
    assert.equal(nodeState(first, { pid: '7', uptime: 2, at: 510_000 }).kind, 'restarted');
    assert.deepEqual(nodeState(first, null, 'ECONNREFUSED'), { kind: 'lost', why: 'ECONNREFUSED' });
  });
  it('a restart that started well before the first acknowledgement loses nothing of the run', () => {
    const restart = { previousPid: '7', pid: '8', uptime: 1, startedAt: 1000, evidence: 'pid 7 -> 8' };
    assert.equal(lossOf('a', { index: 0, file: 'f0', ackAt: 7000 }, { kind: 'restarted', restart }, () => 'x'), null);
    assert.deepEqual(lossOf('a', { index: 2, file: 'f2', ackAt: 5000 }, { kind: 'restarted', restart }, () => 'x'), { lane: 'a', from: 2, text: 'x' });
  });
  it('readNodes reads every node through the port; a port that throws is a lost node', async () => {
    const states = await readNodes(new Map([['a', first], ['b', first]]), async (lane) => {
      if (lane === 'b') throw new Error('refused');
      return { pid: '7', uptime: 70, at: 520_000 };
    });
    assert.deepEqual(Object.fromEntries([...states].map(([k, v]) => [k, v.kind])), { a: 'fine', b: 'lost' });
  });
});
