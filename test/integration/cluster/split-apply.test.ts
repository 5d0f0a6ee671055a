/**
 * The multi-host loader's data stages (issue #14), on real memcached and real files: split a file
 * into a spool, apply every lane, and memcached holds what the oracle and the single-host loader
 * say; split is idempotent and refuses other options; a lane whose ownership is lost stops; a node
 * that is down fails its lane with an error naming it; an apply opens one socket to its node, and
 * a worker's successive applies on a node keep that one (issue #18 item 1).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KeptConnections } from '../../../src/cluster/kept-conn.js';
import { applySegment, fileVerdict, readManifest, removeSpool, splitFile, spoolFolder, type ApplyResult, type NodeFence, type NodeIdentity, type SplitManifest } from '../../../src/cluster/stages.js';
import type { RunOptions } from '../../../src/config/options.js';
import { generateLogs } from '../../../src/generate/index.js';
import { load } from '../../../src/index.js';
import { stats } from '../../../src/memcached/admin.js';
import type { ConnIdentity } from '../../../src/memcached/handshake.js';
import { readValues } from '../../helpers/check.js';
import { ownLoopback, refusedAddress, startServers, stopAll, type MemcachedHandle } from '../../helpers/memcached.js';
import { expectFrom, pendingFiles, TYPES } from '../../helpers/oracle.js';
import { Scratch } from '../../helpers/scratch.js';
import { optionsFor, typeNodes } from './five-nodes.js';
import { segmentKeys } from './segment-keys.js';

const scratch = new Scratch('memc-load-cluster-');
before(async () => {
  // Keys repeat within and across files, so a key's lines reach its node in several batches.
  await generateLogs({ dir: scratch.dataset, files: 3, lines: 6000, seed: 41, repeatRate: 0.5, badRate: 0.003, keyPool: 900 });
});
after(async () => {
  await stopAll();
  scratch.remove();
});

const always = { stillOwner: () => true };

async function applyAll(m: SplitManifest, opts: RunOptions): Promise<ApplyResult[]> {
  return Promise.all(m.lanes.map((l) => applySegment(m, l.server, opts, always)));
}

test('split, then apply every lane: every key holds the oracle\'s bytes, on the node the single-host loader puts it on', async () => {
  const cluster = await startServers(5, { host: ownLoopback() }); // restarted below: their ports are free meanwhile
  try {
    const dir = scratch.copy('values');
    const spool = join(scratch.root, 'spool-values');
    const files = pendingFiles(dir);
    const expected = expectFrom(files);
    assert.ok(expected.records.length > 0 && Object.values(expected.rejected).some((n) => n > 0), 'the data has records and rejects');
    const opts = optionsFor(cluster);
    const keysOf = (t: number) => [...expected.byType[TYPES[t]!]!.keys()];
    // First the single-host loader, on the same nodes: what each node holds, key by key.
    const reference = await load({ ...opts, pattern: join(scratch.copy('single'), '*.tsv.gz') });
    assert.equal(reference.ok, true);
    const bySingle = await Promise.all(TYPES.map((_, t) => Promise.all(typeNodes(cluster)[t]!.map((n) => readValues(n.address, keysOf(t))))));
    await Promise.all(cluster.map((n) => n.restart()));

    for (const file of files) {
      const m = await splitFile(file, spool, opts);
      assert.deepEqual(m.lanes.map((l) => l.server), cluster.map((n) => n.address.label));
      const results = await applyAll(m, opts);
      for (const r of results) {
        assert.equal(r.error, null, r.error?.message);
        assert.equal(r.acknowledged, r.records, `${r.server}: every record acknowledged`);
      }
      assert.deepEqual(fileVerdict(m, results), { outcome: 'succeeded', error: null });
      assert.equal(m.verdict, 'succeeded');
      await removeSpool(file, spool);
      assert.equal(existsSync(m.folder), false, 'removeSpool deletes the folder');
    }

    for (const [t, type] of TYPES.entries()) {
      const want = expected.byType[type]!;
      const keys = keysOf(t);
      const onCluster = await Promise.all(typeNodes(cluster)[t]!.map((n) => readValues(n.address, keys)));
      let wrong = 0;
      let differ = 0;
      for (const [j, key] of keys.entries()) {
        const c = onCluster.map((v) => v[j]).filter((v) => v);
        if (c.length !== 1 || !c[0]!.equals(want.get(key)!)) wrong++;
        // Same node, same bytes as the single-host loader left.
        for (const [n, values] of onCluster.entries()) {
          const s = bySingle[t]![n]![j];
          if ((s ?? null) === null ? values[j] !== null : !values[j]?.equals(s!)) differ++;
        }
      }
      assert.equal(wrong, 0, `${type}: ${wrong} of ${keys.length} keys missing, wrong or on two nodes`);
      assert.equal(differ, 0, `${type}: ${differ} key placements or values differ from the single-host loader's`);
    }
  } finally {
    await Promise.all(cluster.map((s) => s.stop()));
  }
});

test('a second split of the same input is a no-op; other shaping options are refused', async () => {
  const dir = scratch.copy('idem');
  const spool = join(scratch.root, 'spool-idem');
  const file = pendingFiles(dir)[0]!;
  const nodes = [1, 2, 3, 4, 5].map((p) => ({ address: { host: '127.0.0.1', port: 40000 + p, label: `127.0.0.1:${40000 + p}` } })) as MemcachedHandle[];
  const opts = optionsFor(nodes);
  const expected = expectFrom([file]);
  const first = await splitFile(file, spool, opts);
  assert.equal(first.lines, expected.lines);
  assert.equal(first.rejectedTotal, Object.values(expected.rejected).reduce((a, b) => a + b, 0));
  assert.equal(first.records, expected.records.length);
  const folder = spoolFolder(file, spool);
  const before = readdirSync(folder).sort().map((n) => `${n}@${statSync(join(folder, n)).mtimeMs}`);
  const again = await splitFile(file, spool, opts);
  assert.equal(again.splitId, first.splitId, 'the same split is returned');
  assert.deepEqual(readdirSync(folder).sort().map((n) => `${n}@${statSync(join(folder, n)).mtimeMs}`), before, 'nothing written');
  assert.deepEqual(await readManifest(file, spool), again);
  await assert.rejects(splitFile(file, spool, optionsFor(nodes, { packed: true })), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MCL_ERR_SPOOL');
    assert.match(err.message, /--packed false, this run has true/);
    assert.match(err.message, new RegExp(`delete ${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    return true;
  });
  const r = await applySegment(first, first.lanes[4]!.server, optionsFor(nodes, { ttl: 60 }), always);
  assert.equal(r.error?.code, 'MCL_ERR_SPOOL', 'apply refuses a spool split with other options');
  assert.equal(r.sent, 0);
});

test('a lane whose ownership is lost after N batches stops: exactly those batches reach memcached', async () => {
  const nodes = await startServers(5);
  try {
    const dir = scratch.copy('guard');
    const spool = join(scratch.root, 'spool-guard');
    const file = pendingFiles(dir)[0]!;
    const opts = optionsFor(nodes);
    const m = await splitFile(file, spool, opts);
    const lane = m.lanes[4]!;
    assert.ok(lane.batches > 5, `enough batches (${lane.batches})`);
    const N = 3;
    let asked = 0;
    const r = await applySegment(m, lane.server, opts, { stillOwner: async () => ++asked <= N });
    assert.equal(asked, N + 1, 'asked before each batch, and not after it said no');
    assert.equal(r.lostOwnership, true);
    const keys = segmentKeys(join(m.folder, lane.segment!), N);
    assert.equal(r.sent, keys.records);
    assert.equal(r.acknowledged, keys.records, 'what was handed on is acknowledged');
    const s = await stats(nodes[4]!.address);
    assert.equal(Number(s['cmd_set']), keys.records, 'sets that reached memcached: the first N batches');
    assert.equal(Number(s['curr_items']), keys.distinct);
    assert.equal(fileVerdict(m, [r]).outcome, 'failed_load');
  } finally {
    await Promise.all(nodes.map((s) => s.stop()));
  }
});

test('a node that is down fails its lane with an error naming it; the other lanes load', async () => {
  const nodes = await startServers(4);
  try {
    const down = await refusedAddress();
    const handles = [nodes[0]!, nodes[1]!, nodes[2]!, { address: down } as MemcachedHandle, nodes[3]!];
    const dir = scratch.copy('down');
    const spool = join(scratch.root, 'spool-down');
    mkdirSync(spool);
    const file = pendingFiles(dir)[0]!;
    const opts = optionsFor(handles, { retries: 1, connectTimeoutMs: 500, responseTimeoutMs: 1000 });
    const m = await splitFile(file, spool, opts);
    const t0 = performance.now();
    const r = await applySegment(m, down.label, opts, always);
    assert.ok(performance.now() - t0 < 8000, 'gives up within its retries');
    assert.equal(r.error?.code, 'MCL_ERR_SERVER_GONE');
    assert.match(r.error!.message, new RegExp(down.label.replace(/\./g, '\\.')));
    assert.match(r.error!.message, /is memcached running at/);
    assert.equal(r.acknowledged, 0);
    const other = await applySegment(m, nodes[3]!.address.label, opts, always);
    assert.equal(other.error, null);
    const v = fileVerdict(m, [r, other]);
    assert.equal(v.outcome, 'failed_load');
  } finally {
    await Promise.all(nodes.map((s) => s.stop()));
  }
});

test('an apply opens one connection to its node: the baseline, the fence and the after-reading go over it (issue #18 item 1)', async () => {
  const nodes = await startServers(5);
  try {
    const dir = scratch.copy('one-socket');
    const spool = join(scratch.root, 'spool-one-socket');
    const file = pendingFiles(dir)[0]!;
    const opts = optionsFor(nodes, { failOnEvictions: true });
    const m = await splitFile(file, spool, opts);
    const lane = m.lanes[4]!;
    const node = nodes[4]!;
    // The fence's side, in memory: what the apply hands it, and when.
    const told: string[] = [];
    const recorded: (ConnIdentity | null)[] = [];
    let seen: NodeIdentity | null = null;
    const fence: NodeFence = {
      async earlier(n) {
        told.push('earlier');
        seen = n;
        return [];
      },
      async record(self) {
        told.push('record');
        recorded.push(self);
      },
      async passed() {},
      async release() {
        told.push('release');
      },
    };
    const total = async () => Number((await stats(node.address))['total_connections']);
    const before = await total();
    const r = await applySegment(m, lane.server, opts, always, { fence });
    // The reading after counts its own socket, as the one before did.
    const opened = (await total()) - before - 1;
    assert.equal(r.error, null, r.error?.message);
    assert.equal(r.acknowledged, lane.records);
    assert.equal(opened, 1, 'one socket for the whole apply (it was three: stats before, the sets, stats after)');
    assert.deepEqual(told, ['earlier', 'record', 'release'], 'earlier holders read, the socket recorded before its first set, released after');
    assert.equal(recorded.length, 1);
    assert.ok(recorded[0] !== null, 'the node listed the socket');
    const s = await stats(node.address);
    const read = seen as NodeIdentity | null;
    assert.equal(read?.pid, s['pid'], 'the fence got the node as the connection\'s `stats` told it');
    assert.equal(r.node?.pid, s['pid'], 'the after-reading came back');
    assert.equal(r.evictions, 0);
    assert.equal(Number(s['cmd_set']), lane.records, 'every set reached the node once');
  } finally {
    await Promise.all(nodes.map((s) => s.stop()));
  }
});

/** The fence's side in memory, for job `job`: what the apply hands it, in order, into `told`. */
function memoryFence(job: number, told: string[], recorded: (ConnIdentity | null)[]): NodeFence {
  return {
    async earlier() {
      told.push(`${job}:earlier`);
      return [];
    },
    async record(self) {
      told.push(`${job}:record`);
      recorded.push(self);
    },
    async passed() {},
    async release() {
      told.push(`${job}:release`);
    },
  };
}

test('one worker\'s applies of successive files on a node open one connection in all: each job asks its `stats`, and is recorded and released, over it (issue #18 item 1)', async () => {
  const nodes = await startServers(5);
  const kept = new KeptConnections(60_000);
  try {
    const dir = scratch.copy('kept-socket');
    const spool = join(scratch.root, 'spool-kept-socket');
    const files = pendingFiles(dir);
    const opts = optionsFor(nodes, { failOnEvictions: true });
    const manifests = [];
    for (const f of files) manifests.push(await splitFile(f, spool, opts));
    const node = nodes[4]!;
    const server = manifests[0]!.lanes[4]!.server;
    const told: string[] = [];
    const recorded: (ConnIdentity | null)[] = [];
    const total = async () => Number((await stats(node.address))['total_connections']);
    const before = await total();
    const results: ApplyResult[] = [];
    for (const [i, m] of manifests.entries()) results.push(await applySegment(m, server, opts, always, { fence: memoryFence(i, told, recorded), kept }));
    // The reading after counts its own socket, as the one before did.
    const opened = (await total()) - before - 1;
    for (const r of results) assert.equal(r.error, null, r.error?.message);
    assert.deepEqual(results.map((r) => r.acknowledged), manifests.map((m) => m.lanes[4]!.records));
    assert.equal(opened, 1, `one socket for ${files.length} files (it was one per file)`);
    assert.deepEqual(told, files.flatMap((_, i) => [`${i}:earlier`, `${i}:record`, `${i}:release`]), 'each job read its earlier holders, recorded the socket before its first set and released it');
    assert.equal(new Set(recorded.map((c) => c?.addr)).size, 1, 'the same socket, recorded under each job');
    assert.ok(recorded[0] !== null);
    assert.equal(kept.size, 1, 'kept for the next file');
    const s = await stats(node.address);
    assert.equal(Number(s['cmd_set']), manifests.reduce((n, m) => n + m.lanes[4]!.records, 0), 'every set reached the node once');
    assert.ok(results.every((r) => r.node?.pid === s['pid']), 'each after-reading came back');
    await kept.close();
    assert.equal(kept.size, 0);
  } finally {
    await kept.close();
    await Promise.all(nodes.map((s) => s.stop()));
  }
});

test('a node restarted between two files of one worker: the next apply connects anew, and the restart shows in its reading', async () => {
  const nodes = await startServers(5, { host: ownLoopback() }); // one is restarted below: its port is free meanwhile
  const kept = new KeptConnections(60_000);
  try {
    const dir = scratch.copy('kept-restart');
    const spool = join(scratch.root, 'spool-kept-restart');
    const files = pendingFiles(dir);
    const opts = optionsFor(nodes);
    const m0 = await splitFile(files[0]!, spool, opts);
    const m1 = await splitFile(files[1]!, spool, opts);
    const node = nodes[4]!;
    const server = m0.lanes[4]!.server;
    const r0 = await applySegment(m0, server, opts, always, { fence: memoryFence(0, [], []), kept });
    assert.equal(r0.error, null, r0.error?.message);
    assert.equal(kept.size, 1);
    await node.restart();
    const r1 = await applySegment(m1, server, opts, always, { fence: memoryFence(1, [], []), kept });
    assert.notEqual(r1.node?.pid, undefined);
    assert.notEqual(r1.node?.pid, r0.node?.pid, 'the commit and the plan\'s first-write check see another process');
    const s = await stats(node.address);
    // A new socket (and the two readings' own): never the one of the process that died.
    assert.ok(Number(s['total_connections']) >= 2, `the new process was connected to (${s['total_connections']})`);
    if (r1.error === null) assert.equal(Number(s['cmd_set']), m1.lanes[4]!.records, 'file 1 went to the new process whole');
    else assert.match(r1.error.message, /restarted/, 'or, lost on the kept socket, it fails as a restart');
  } finally {
    await kept.close();
    await Promise.all(nodes.map((s) => s.stop()));
  }
});
