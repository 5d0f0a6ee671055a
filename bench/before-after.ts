/**
 * `npm run bench:compare -- --base <git-ref>`: two builds of the loader on the bench's rows (the
 * default and the cluster unless --rows says otherwise), alternated base, head, base, head, …,
 * on one set of servers and one data set, each run checked as `npm run bench` checks it (the
 * steps' own code: bench/steps/loaders.ts's run of the bin, bench/steps/cluster.ts's clusterRun).
 * Only the loader differs: the data, the oracle, the servers and the checks are this tree's.
 * Writes bench/results/compare.json (--out) and prints the side-by-side table; `npm run
 * bench:doc` renders it in docs/benchmarks.md. `--help` for the rest (bench/lib/before-after.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { startRedis, stopAllRedis } from '../test/helpers/redis.js';
import {
  COMPARE_VERSION,
  compareText,
  parseCompareArgs,
  rowArgs,
  rowName,
  schedule,
  USAGE,
  type CompareArgs,
  type CompareResult,
  type CompareRun,
} from './lib/before-after.js';
import { buildOf, type Build } from './lib/builds.js';
import { checkText, elapsedS, log } from './lib/log.js';
import { killChildren, loadAverage, round2 } from './lib/proc.js';
import { BIN, Rig, ROOT, removeStaleScratch } from './lib/rig.js';
import type { Sample } from './lib/sample.js';
import { readSettings, type Settings } from './lib/settings.js';
import { clusterRun } from './steps/cluster.js';
import { prepareData } from './steps/data.js';
import { begin, dataSettings, loaderRevision, runSettings } from './steps/results.js';

/** One timed run of `build` on `row`: the same calls the bench's own rows make. */
async function runOnce(rig: Rig, build: Build, row: CompareRun['row']): Promise<Sample> {
  if (row !== 'cluster') return rig.loader(rig.main, rowArgs(row), undefined, build.bin);
  // A Redis of its own per run: the two builds may not agree on what their queues hold.
  const redis = await startRedis();
  try {
    return (await clusterRun(rig, redis, build.bin)).sample;
  } finally {
    await redis.stop();
  }
}

async function compare(a: CompareArgs): Promise<number> {
  // No scaling sets: the comparison runs the main data set only.
  const s: Settings = { ...readSettings(), skipScaling: true };
  const start = begin(s);
  const base = await buildOf(ROOT, a.base);
  const head: Build = a.head === null ? { ref: 'working tree', commit: loaderRevision(), how: 'this tree, as npm run bench:compare built it', bin: BIN } : await buildOf(ROOT, a.head);
  await removeStaleScratch();
  const data = await prepareData(s);
  const rig = await Rig.start(s, data.main, []);
  const runs: CompareRun[] = [];
  try {
    for (const turn of schedule(a.rows, s.runs)) {
      const build = turn.build === 'base' ? base : head;
      log(`${rowName(turn.row, s.clusterWorkers)}, ${turn.build} ${build.commit} (run ${turn.run + 1}/${s.runs})`);
      const smp = await runOnce(rig, build, turn.row);
      log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, ${smp.peakRssMb?.toFixed(0)} MB peak RSS, others ${smp.othersCores.toFixed(2)} cores, ${checkText(smp.problems)}`);
      runs.push({
        ...turn,
        wallS: round2(smp.wallS),
        cpuS: smp.cpuS === null ? null : round2(smp.cpuS),
        peakRssMb: smp.peakRssMb === null ? null : Math.round(smp.peakRssMb),
        othersCores: round2(smp.othersCores),
        load1: smp.load1,
        problems: smp.problems,
      });
    }
  } finally {
    await rig.stop();
    await stopAllRedis();
  }
  const result: CompareResult = {
    version: COMPARE_VERSION,
    date: new Date().toISOString(),
    machine: start.machine,
    load: { start: start.loadStart, end: loadAverage() },
    settings: { ...dataSettings(s), ...runSettings(s), CLUSTER_WORKERS: s.clusterWorkers, LOADER_ARGS: s.loaderArgs.join(' ') },
    lines: data.main.expect.lines,
    files: data.main.gen.files.length,
    clusterWorkers: s.clusterWorkers,
    base: { ref: base.ref, commit: base.commit, how: base.how },
    head: { ref: head.ref, commit: head.commit, how: head.how },
    rows: a.rows,
    runs,
    seconds: round2(elapsedS()),
  };
  const outPath = resolve(ROOT, a.out);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${compareText(result)}\n\nwritten: ${relative(process.cwd(), outPath) || outPath}; put it in docs/benchmarks.md with: npm run bench:doc\n`);
  return runs.some((r) => r.problems.length > 0) ? 1 : 0;
}

async function main(): Promise<number> {
  let a: ReturnType<typeof parseCompareArgs>;
  try {
    a = parseCompareArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench:compare: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (a === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  return compare(a);
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`bench:compare failed: ${(err as Error)?.stack ?? String(err)}\n`);
  killChildren();
  process.exitCode = 1;
}
