/**
 * Step 1, the floor: what no loader can beat on this machine with this data.
 *   (a) gunzip of every file, no parsing, in a child: its CPU
 *   (b) the pre-rendered quiet sets streamed into the servers: wall and server CPU
 *   floor = max(ingest wall, (gunzip CPU + server CPU) / cores)
 */
import { join } from 'node:path';
import { dataFiles } from '../lib/dataset.js';
import { log } from '../lib/log.js';
import { childFailed, lastJson, round2, runMeasured } from '../lib/proc.js';
import type { FloorResult, Row } from '../lib/report.js';
import { DIST, type Rig } from '../lib/rig.js';
import { rowOf, type RowBasis } from '../lib/rows.js';
import { median, pickMedian, type Sample } from '../lib/sample.js';
import { streamAll } from '../lib/servers.js';
import { verify } from '../lib/verify.js';

export interface Floor {
  readonly result: FloorResult;
  /** The floor as the first row of the main table. */
  readonly row: Row;
  /** What the other rows are measured against. */
  readonly basis: RowBasis;
}

export async function measureFloor(rig: Rig): Promise<Floor> {
  const { s, main } = rig;
  log('floor (a): gunzip of every file, no parsing');
  const gz = await gunzip(rig);
  log(`  gunzip: ${gz.cpuS.toFixed(2)} s CPU, ${gz.wallS.toFixed(2)} s wall (${gz.method}; the thread pool took ${gz.poolCpuS.toFixed(2)} s CPU)`);
  log('floor (b): raw ingest of pre-rendered quiet sets, one connection per server');
  const ingSamples = await ingest(rig);
  const ing = pickMedian(ingSamples);
  // Medians of each part; the floor's range comes from each run's own floor.
  const ingestServerCpuS = median(ingSamples.map((x) => x.serverCpuS ?? NaN));
  const floorOf = (wallS: number, serverCpuS: number): number => Math.max(wallS, (gz.cpuS + serverCpuS) / s.cores);
  const floors = ingSamples.map((x) => floorOf(x.wallS, x.serverCpuS ?? NaN));
  log(`  ingest: ${ing.best.wallS.toFixed(2)} s wall, ${ingestServerCpuS.toFixed(2)} s server CPU${ing.problems.length ? `; ${ing.problems.join('; ')}` : ''}`);
  const floorS = floorOf(ing.best.wallS, ingestServerCpuS);
  const result: FloorResult = {
    gunzipCpuS: round2(gz.cpuS),
    gunzipWallS: round2(gz.wallS),
    gunzipMethod: gz.method,
    gunzipPoolCpuS: round2(gz.poolCpuS),
    ingestWallS: round2(ing.best.wallS),
    ingestServerCpuS: round2(ingestServerCpuS),
    ingestBytes: main.frames?.bytes ?? 0,
    cores: s.cores,
    floorS: round2(floorS),
    bound: floorS === ing.best.wallS ? 'ingest wall' : 'CPU',
    ok: gz.problems.length === 0 && ing.problems.length === 0,
    problems: [...gz.problems, ...ing.problems],
  };
  log(`  floor = ${floorS.toFixed(2)} s`);
  const basis: RowBasis = { lines: main.expect.lines, bytes: main.gen.bytes, floorS };
  const row = rowOf(
    basis,
    'floor',
    'floor',
    {
      best: { ...ing.best, wallS: floorS, cpuS: gz.cpuS, serverCpuS: ingestServerCpuS, serverLruCpuS: median(ingSamples.map((x) => x.serverLruCpuS ?? NaN)) },
      range: floors.length > 1 ? [Math.min(...floors), Math.max(...floors)] : null,
      problems: ing.problems,
      notes: ing.notes,
    },
    { note: `max(ingest wall, (gunzip CPU + server CPU) / ${s.cores}); CPU s is the gunzip's, server CPU s the raw ingest's` },
  );
  return { result, row, basis };
}

/** floor (a): gunzip of every file in a child, its CPU. */
async function gunzip(rig: Rig): Promise<{ cpuS: number; wallS: number; method: string; poolCpuS: number; problems: string[] }> {
  const runs: { cpuS: number; wallS: number; method: string; poolCpuS: number }[] = [];
  const problems: string[] = [];
  for (let i = 0; i < rig.s.runs; i++) {
    const m = await runMeasured({
      script: join(DIST, 'floor', 'gunzip.js'),
      args: dataFiles(rig.main),
      timeoutMs: rig.s.timeoutMs,
      captureStdout: true,
    });
    const out = lastJson<{ bytes: number; wallMs: number; cpuMs: number; method: string; methods: { pool: { cpuMs: number } } }>(m.stdout);
    if (m.exitCode !== 0 || !out) {
      problems.push(childFailed('gunzip', m));
      continue;
    }
    if (out.bytes !== rig.main.gen.bytes) problems.push(`gunzip gave ${out.bytes} bytes, the generator wrote ${rig.main.gen.bytes}`);
    runs.push({ cpuS: out.cpuMs / 1000, wallS: out.wallMs / 1000, method: out.method, poolCpuS: out.methods.pool.cpuMs / 1000 });
  }
  const method = runs.every((r) => r.method === runs[0]?.method) ? (runs[0]?.method ?? 'none') : 'mixed';
  return { cpuS: median(runs.map((r) => r.cpuS)), wallS: median(runs.map((r) => r.wallS)), method, poolCpuS: median(runs.map((r) => r.poolCpuS)), problems };
}

/** floor (b): the pre-rendered frames streamed into the servers; wall and server CPU. */
async function ingest(rig: Rig): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < rig.s.runs; i++) {
    const before = await rig.freshServers();
    const mon = await rig.startWatch();
    const r = await streamAll(rig.servers, rig.ms);
    const { serverCpuS, serverLruCpuS, othersCores, idleCoreS, load1 } = mon.end(0);
    const extra = r.errors.length > 0 ? [`${r.errors.length} error replies: ${r.errors.slice(0, 3).join(' | ')}`] : [];
    const check = await verify(rig.servers, rig.main.expect, before, extra);
    out.push({ wallS: r.wallMs / 1000, cpuS: null, serverCpuS, serverLruCpuS, peakRssMb: null, check, problems: check.problems, load1, othersCores, idleCoreS, mainWaitS: null });
  }
  return out;
}
