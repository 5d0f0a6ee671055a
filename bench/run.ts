/**
 * `npm run bench`: memc-load against the machine's floor and a naive baseline, side by side,
 * in one run, on one data set (issue 3). Settings: bench/lib/settings.ts (environment).
 *
 *   data (generated once, cached)  ──►  4 × memcached -t 1, restarted + warmed before each run
 *     1. floor   (a) gunzip only, CPU (child)     (b) pre-rendered quiet sets → servers, wall + server CPU
 *     2. memc-load: default, default on each other Node (NODES), --workers 0 … cores
 *        (the real bin, a child; wall, CPU, peak RSS)
 *        2b. the default into null sinks (a diagnostic row: the loader without the servers' work)
 *        2c. the default into four pools of two nodes (8 memcached), beside the four singles
 *        2d. the cluster mode: redis-server, `enqueue --wait` and 1 `worker` (judged), then 2 (informational)
 *     3. memjs: one awaited set per record on a slice, extrapolated
 *     4. scaling: memc-load default on 100 k / 1 M / (10 M) lines: µs/line, peak RSS
 *     5. micro benches (MICRO=1), once the servers are gone
 *   every timed run is followed by a check of what memcached holds (bench/lib/verify.ts)
 *
 * Writes the tables to stdout and the result to bench/results/latest.json; `npm run bench:doc`
 * turns that into docs/benchmarks.md. Each step lives in bench/steps/, the rig they share
 * (servers, scratch copies, the timed run of the bin) in bench/lib/rig.ts.
 */
import { haveNodes } from './lib/node-bins.js';
import { killChildren } from './lib/proc.js';
import type { Row } from './lib/report.js';
import { Rig, removeStaleScratch } from './lib/rig.js';
import { readSettings } from './lib/settings.js';
import { baselineRow } from './steps/baseline.js';
import { clusterRows } from './steps/cluster.js';
import { prepareData } from './steps/data.js';
import { measureFloor } from './steps/floor.js';
import { gunzipModeRows } from './steps/gunzip-modes.js';
import { loaderConfigRows, nullSinkRow } from './steps/loaders.js';
import { poolRow } from './steps/pools.js';
import { runMicro } from './steps/micro.js';
import { begin, writeResults, type Measurements } from './steps/results.js';
import { scalingNote, scalingRows } from './steps/scaling.js';

async function main(): Promise<number> {
  const s = readSettings();
  const start = begin(s);
  await removeStaleScratch();
  const data = await prepareData(s);
  // Before the servers start: a first run may install a Node from the registry.
  const nodes = await haveNodes(s.nodes);
  const rig = await Rig.start(s, data.main, data.scales);
  let measured: Omit<Measurements, 'micro'>;
  try {
    const floor = await measureFloor(rig);
    const rows: Row[] = [floor.row];
    rows.push(...(await loaderConfigRows(rig, floor.basis, nodes)));
    rows.push(...(await gunzipModeRows(rig, floor.basis)));
    rows.push(await nullSinkRow(rig, floor.basis));
    if (!s.skipPools) rows.push(await poolRow(rig, floor.basis));
    if (!s.skipCluster) rows.push(...(await clusterRows(rig, floor.basis)));
    if (!s.skipBaseline) rows.push(await baselineRow(rig, floor.basis));
    const scaling = await scalingRows(rig, data.scales);
    measured = {
      main: data.main,
      memoryMb: rig.servers.memoryMb,
      floor: floor.result,
      rows,
      scaling,
      scalingNote: scalingNote(s, data.scalingNote),
      nodes,
    };
  } finally {
    await rig.stop();
  }
  const micro = s.micro ? await runMicro(s) : [];
  return writeResults(s, start, { ...measured, micro });
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
  killChildren();
  process.exitCode = 1;
}
