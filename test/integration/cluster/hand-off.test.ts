/**
 * The hand-off (cluster/hand-off.ts), in process on real memcached and real files: a split feeds
 * the lanes whose applies wait in its process straight to them and spools the rest; every key
 * then holds the oracle's bytes on its node; the manifest is written only once the handed-off
 * applies have everything acknowledged, and a hand-off that did not end clean leaves none; a
 * manifest with a lane handed off is never applied nor reused.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HandOffFailed } from '../../../src/cluster/hand-off.js';
import { applyHandOff, applySegment, fileVerdict, HandOffs, readManifest, splitFile, type ApplyResult, type OwnershipGuard, type SplitManifest } from '../../../src/cluster/stages.js';
import type { RunOptions } from '../../../src/config/options.js';
import { generateLogs } from '../../../src/generate/index.js';
import { stats } from '../../../src/memcached/admin.js';
import { readValues } from '../../helpers/check.js';
import { startServers, stopAll } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, TYPES } from '../../helpers/oracle.js';
import { Scratch } from '../../helpers/scratch.js';
import { optionsFor, typeNodes } from './five-nodes.js';
import { segmentKeys } from './segment-keys.js';

const scratch = new Scratch('memc-load-hand-off-');
before(async () => {
  await generateLogs({ dir: scratch.dataset, files: 2, lines: 6000, seed: 43, repeatRate: 0.5, badRate: 0.003, keyPool: 900 });
});
after(async () => {
  await stopAll();
  scratch.remove();
});

const always: OwnershipGuard = { stillOwner: () => true };

/**
 * Splits `file` with the applies of `lanes` waiting in this "process", each fed by the split and
 * reporting its end as a worker's apply job does (queue/processors.ts).
 */
async function splitHandingOff(file: string, spool: string, opts: RunOptions, lanes: readonly string[], guard = (_lane: string): OwnershipGuard => always, signal?: AbortSignal) {
  const handOffs = new HandOffs();
  const applies = lanes.map(async (lane) => {
    const offer = handOffs.offer('plan', file, lane);
    const source = await offer.claimed;
    const r = await applyHandOff(file, source, opts, guard(lane));
    source.settle({ clean: r.error === null && !r.lostOwnership && r.failedWrites === 0, lostOwnership: r.lostOwnership, why: r.error?.message ?? (r.lostOwnership ? 'lost its lease' : null) });
    return r;
  });
  const split = splitFile(file, spool, opts, { handOff: (all, make) => handOffs.claim('plan', file, null, all, make), ...(signal === undefined ? {} : { signal }) });
  const [manifest, ...results] = await Promise.allSettled([split, ...applies]);
  return { manifest, applied: results.map((r) => (r as PromiseFulfilledResult<ApplyResult>).value) };
}

test('lanes handed off and lanes spooled, in one split: every key holds the oracle\'s bytes on its node, and only the spooled lanes have segments', async () => {
  const nodes = await startServers(5);
  try {
    const dir = scratch.copy('mixed');
    const spool = join(scratch.root, 'spool-mixed');
    const files = pendingFiles(dir);
    const expected = expectFrom(files);
    const opts = optionsFor(nodes);
    const handed = [nodes[0]!, nodes[2]!, nodes[4]!].map((n) => n.address.label);
    for (const file of files) {
      const { manifest, applied } = await splitHandingOff(file, spool, opts, handed);
      assert.equal(manifest.status, 'fulfilled', String((manifest as PromiseRejectedResult).reason));
      const m = (manifest as PromiseFulfilledResult<SplitManifest>).value;
      assert.deepEqual(m.lanes.map((l) => [l.server, l.handOff === true, l.segment !== null]), nodes.map((n) => [n.address.label, handed.includes(n.address.label), !handed.includes(n.address.label)]));
      assert.deepEqual(readdirSync(m.folder).filter((n) => n.endsWith('.seg')).length, 2, 'segments for the two spooled lanes only');
      for (const r of applied) {
        assert.equal(r.error, null, r.error?.message);
        assert.equal(r.acknowledged, m.lanes.find((l) => l.server === r.server)?.records, `${r.server}: every record of the lane, acknowledged`);
      }
      const spooled = await Promise.all(m.lanes.filter((l) => l.handOff !== true).map((l) => applySegment(m, l.server, opts, always)));
      assert.deepEqual(fileVerdict(m, [...applied, ...spooled]), { outcome: 'succeeded', error: null });
      assert.equal(m.records, expectFrom([file]).records.length);
    }
    for (const [t, type] of TYPES.entries()) {
      const want = expected.byType[type]!;
      const keys = [...want.keys()];
      const held = await Promise.all(typeNodes(nodes)[t]!.map((n) => readValues(n.address, keys)));
      const wrong = keys.filter((key, j) => {
        const found = held.map((v) => v[j]).filter((v) => v);
        return found.length !== 1 || !found[0]!.equals(want.get(key)!);
      });
      assert.equal(wrong.length, 0, `${type}: ${wrong.length} of ${keys.length} keys missing, wrong or on two nodes (first: ${wrong[0]})`);
    }
  } finally {
    await Promise.all(nodes.map((s) => s.stop()));
  }
});

test('an apply fed by its split that loses its lease after N batches: exactly those reach memcached, and the split fails for a rerun, with no manifest', async () => {
  const nodes = await startServers(5);
  try {
    const dir = scratch.copy('lost');
    const file = pendingFiles(dir)[0]!;
    const opts = optionsFor(nodes);
    // The same file spooled first, elsewhere: the batches a hand-off feeds are the segment's.
    const reference = await splitFile(file, join(scratch.root, 'spool-lost-reference'), opts);
    const lane = reference.lanes[4]!;
    assert.ok(lane.batches > 5, `enough batches (${lane.batches})`);
    const N = 3;
    let asked = 0;
    const spool = join(scratch.root, 'spool-lost');
    const { manifest, applied } = await splitHandingOff(file, spool, opts, [lane.server], () => ({ stillOwner: async () => ++asked <= N }));
    assert.equal(manifest.status, 'rejected');
    const err = (manifest as PromiseRejectedResult).reason as HandOffFailed;
    assert.ok(err instanceof HandOffFailed, String(err));
    assert.equal(err.lostOwnership, true, 'the apply runs again, so the split must');
    assert.match(err.message, new RegExp(`its apply on ${lane.server.replace(/\./g, '\\.')}: lost its lease`));
    assert.equal(await readManifest(file, spool), undefined, 'no manifest: nothing claims the lane was applied');
    assert.deepEqual(readdirSync(join(spool, readdirSync(spool)[0]!)), [], "and no segment left behind");
    assert.equal(applied[0]!.lostOwnership, true);
    const keys = segmentKeys(join(reference.folder, lane.segment!), N);
    assert.equal(applied[0]!.sent, keys.records);
    const s = await stats(nodes[4]!.address);
    assert.equal(Number(s['cmd_set']), keys.records, 'sets that reached memcached: the first N batches');
    // The rerun, with no apply waiting here: every lane to the spool, complete.
    const again = await splitFile(file, spool, opts);
    assert.equal(again.lanes.some((l) => l.handOff === true), false);
    assert.equal(again.lanes.filter((l) => l.records > 0).every((l) => l.segment !== null), true);
  } finally {
    await Promise.all(nodes.map((s) => s.stop()));
  }
});

test('a split stopped part-way fails the applies it feeds, naming the file and the node', async () => {
  const nodes = await startServers(5);
  try {
    const dir = scratch.copy('stopped');
    const file = pendingFiles(dir)[0]!;
    const opts = optionsFor(nodes, { batchBytes: 4096, maxBufferedBytes: 64 * 1024 });
    const spool = join(scratch.root, 'spool-stopped');
    const stop = new AbortController();
    const lane = nodes[2]!.address.label;
    let batches = 0;
    // Stopped once the apply has had two batches: the split is still reading.
    const guard = (): OwnershipGuard => ({ stillOwner: () => (++batches === 2 && stop.abort(), true) });
    const { manifest, applied } = await splitHandingOff(file, spool, opts, [lane], guard, stop.signal);
    assert.equal(manifest.status, 'rejected');
    assert.match(String((manifest as PromiseRejectedResult).reason), /split interrupted/);
    const r = applied[0]!;
    assert.equal(r.error?.code, 'MCL_ERR_SPOOL');
    assert.match(r.error!.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: its split stopped before handing ${lane.replace(/\./g, '\\.')} every record \\(.*split interrupted\\)`));
    assert.equal(await readManifest(file, spool), undefined);
  } finally {
    await Promise.all(nodes.map((s) => s.stop()));
  }
});

test('a manifest with a lane handed off is not applied again (the apply says to enqueue again) nor reused by a later split', async () => {
  const nodes = await startServers(5);
  try {
    const dir = scratch.copy('reuse');
    const file = pendingFiles(dir)[0]!;
    const opts = optionsFor(nodes);
    const spool = join(scratch.root, 'spool-reuse');
    const lane = nodes[1]!.address.label;
    const { manifest } = await splitHandingOff(file, spool, opts, [lane]);
    const m = (manifest as PromiseFulfilledResult<SplitManifest>).value;
    assert.equal(m.lanes[1]!.handOff, true);
    const r = await applySegment(m, lane, opts, always);
    assert.equal(r.error?.code, 'MCL_ERR_SPOOL');
    assert.match(r.error!.message, /straight to an apply whose worker stopped before its job completed; there is no segment to apply again: enqueue again/);
    assert.equal(r.sent, 0);
    const again = await splitFile(file, spool, opts);
    assert.notEqual(again.splitId, m.splitId, 'split again');
    assert.equal(again.lanes[1]!.handOff, undefined);
    assert.notEqual(again.lanes[1]!.segment, null);
    assert.deepEqual(await readManifest(file, spool), again);
  } finally {
    await Promise.all(nodes.map((s) => s.stop()));
  }
});
