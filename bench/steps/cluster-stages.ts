/**
 * The multi-host loader's stages priced apart (issue #14), for docs/cluster.md's throughput
 * model: split (inflate, parse, encode, write segments) and apply (stream segments to memcached)
 * in µs of wall time and of this process's CPU per line, on this machine.
 *
 *   node dist/bench/steps/cluster-stages.js            (LINES per file, FILES, WORKERS: environment)
 *
 * Split runs one file at a time on WORKERS encoder threads, as one split job does. Apply runs a
 * file's four lanes at once, one connection each, as four lane queues do; memcached's own CPU is
 * read from /proc (servers' CPU s) and is not in the loader's figure. Data: the generator's
 * realistic lines, in a temporary folder removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySegment, removeSpool, splitFile } from '../../src/cluster/stages.js';
import { resolveOptions } from '../../src/config/options.js';
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { generateLogs } from '../../src/generate/index.js';
import { Servers } from '../lib/servers.js';

const LINES = Number(process.env['LINES'] ?? 500_000);
const FILES = Number(process.env['FILES'] ?? 3);
const WORKERS = Number(process.env['WORKERS'] ?? 2);

export interface StageCost {
  readonly stage: 'split' | 'apply';
  readonly lines: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly serverCpuS: number | null;
  readonly usPerLineWall: number;
  readonly usPerLineCpu: number;
}

export async function measureClusterStages(lines = LINES, files = FILES, workers = WORKERS): Promise<StageCost[]> {
  const root = mkdtempSync(join(tmpdir(), 'memc-bench-cluster-'));
  const servers = await Servers.start(1024);
  try {
    const gen = await generateLogs({ dir: join(root, 'logs'), files, lines, seed: 14, repeatRate: 0.05, badRate: 0.001 });
    const pools = servers.pools();
    const opts = resolveOptions({
      servers: Object.fromEntries(DEVICE_TYPES.map((t, i) => [t, pools[i]!.map((h) => h.address.label).join(',')])),
      workers,
    });
    const spool = join(root, 'spool');
    const total = gen.files.reduce((n, f) => n + f.lines, 0);
    const cost = (stage: StageCost['stage'], t0: number, c0: NodeJS.CpuUsage, s0: number | null): StageCost => {
      const wallS = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const cpuS = (c.user + c.system) / 1e6;
      const serverCpuS = s0 === null ? null : (servers.cpuTicks() - s0) / 100;
      return { stage, lines: total, wallS, cpuS, serverCpuS, usPerLineWall: (wallS * 1e6) / total, usPerLineCpu: (cpuS * 1e6) / total };
    };

    let t0 = performance.now();
    let c0 = process.cpuUsage();
    const manifests = [];
    for (const f of gen.files) manifests.push(await splitFile(f.path, spool, opts));
    const split = cost('split', t0, c0, null);

    t0 = performance.now();
    c0 = process.cpuUsage();
    const s0 = servers.cpuTicks(); // USER_HZ ticks: 100 per second on Linux
    for (const m of manifests) {
      const results = await Promise.all(m.lanes.map((l) => applySegment(m, l.server, opts, { stillOwner: () => true })));
      const bad = results.find((r) => r.error !== null);
      if (bad) throw bad.error;
    }
    const apply = cost('apply', t0, c0, s0);
    for (const f of gen.files) await removeSpool(f.path, spool);
    return [split, apply];
  } finally {
    for (const h of servers.handles) await h.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await measureClusterStages();
  for (const r of rows) {
    process.stdout.write(
      `${r.stage.padEnd(6)} ${r.lines} lines  wall ${r.wallS.toFixed(2)} s = ${r.usPerLineWall.toFixed(2)} µs/line  ` +
        `CPU ${r.cpuS.toFixed(2)} s = ${r.usPerLineCpu.toFixed(2)} µs/line` +
        (r.serverCpuS === null ? '' : `  memcached CPU ${r.serverCpuS.toFixed(2)} s`) +
        '\n',
    );
  }
}
