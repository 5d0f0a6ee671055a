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
import { haveNodes } from './lib/node-bins.js';
import { parseNodeList, usedText } from './lib/nodes.js';
import { checkText, elapsedS, log } from './lib/log.js';
import { killChildren, loadAverage, round2 } from './lib/proc.js';
import { BIN, Rig, ROOT, removeStaleScratch } from './lib/rig.js';
import type { Sample } from './lib/sample.js';
import { readSettings, type Settings } from './lib/settings.js';
import { clusterRun } from './steps/cluster.js';
import { prepareData } from './steps/data.js';
import { begin, dataSettings, loaderRevision, runSettings } from './steps/results.js';

/** One timed run of `build` on `row` by `node`: the same calls the bench's own rows make. */
async function runOnce(rig: Rig, build: Build, row: CompareRun['row'], node: string): Promise<Sample> {
  const how = { bin: build.bin, node };
  if (row !== 'cluster') return rig.loader(rig.main, rowArgs(row), undefined, how);
  // A Redis of its own per run: the two builds may not agree on what their queues hold.
  const redis = await startRedis();
  try {
    return (await clusterRun(rig, redis, rig.s.clusterWorkers[0] as number, how)).sample;
  } finally {
    await redis.stop();
  }
}

/**
 * The Nodes both builds run on: --node, else NODES when set, else none named (the harness's
 * alone, its rows unlabelled). Versions in the order given, where each binary is, where it came from.
 */
async function nodesToRun(a: CompareArgs): Promise<{ versions: string[]; paths: Map<string, string>; from: Record<string, string> }> {
  const env = process.env['NODES']?.trim();
  const raw = a.node ?? (env && env !== 'none' ? env : null);
  const paths = new Map<string, string>();
  const from: Record<string, string> = {};
  if (raw === null) return { versions: [], paths, from };
  const { specs, hasRunning } = parseNodeList(raw, process.version, a.node !== null ? '--node' : 'NODES');
  const had = await haveNodes(specs);
  if (had.skipped.length > 0) throw new Error(had.skipped.map((x) => `Node ${x.spec} cannot be had: ${x.why}`).join('; '));
  const versions = hasRunning ? [process.version] : [];
  from[process.version] = "the harness's";
  paths.set(process.version, process.execPath);
  for (const x of had.extra) {
    versions.push(x.version);
    paths.set(x.version, x.path);
    from[x.version] = x.pkg ? `npm's ${x.pkg}` : x.path;
  }
  return { versions, paths, from };
}

async function compare(a: CompareArgs): Promise<number> {
  // No scaling sets: the comparison runs the main data set only.
  const s: Settings = { ...readSettings(), skipScaling: true };
  const start = begin(s);
  // The Nodes first: one that cannot be had stops the comparison before any build is made.
  const on = await nodesToRun(a);
  const base = await buildOf(ROOT, a.base);
  const head: Build = a.head === null ? { ref: 'working tree', commit: loaderRevision(), how: 'this tree, as npm run bench:compare built it', bin: BIN } : await buildOf(ROOT, a.head);
  await removeStaleScratch();
  const data = await prepareData(s);
  const rig = await Rig.start(s, data.main, []);
  const runs: CompareRun[] = [];
  try {
    for (const turn of schedule(a.rows, s.runs, on.versions)) {
      const build = turn.build === 'base' ? base : head;
      log(`${rowName(turn.row, s.clusterWorkers[0] as number)}${turn.node ? `, Node ${turn.node}` : ''}, ${turn.build} ${build.commit} (run ${turn.run + 1}/${s.runs})`);
      const smp = await runOnce(rig, build, turn.row, on.paths.get(turn.node ?? '') ?? process.execPath);
      log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, ${smp.peakRssMb?.toFixed(0)} MB peak RSS, others ${smp.othersCores.toFixed(2)} cores${smp.used ? `, ${usedText(smp.used)}` : ''}, ${checkText(smp.problems)}`);
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
    settings: { ...dataSettings(s), ...runSettings(s), CLUSTER_WORKERS: s.clusterWorkers[0] as number, LOADER_ARGS: s.loaderArgs.join(' ') },
    lines: data.main.expect.lines,
    files: data.main.gen.files.length,
    clusterWorkers: s.clusterWorkers[0] as number,
    base: { ref: base.ref, commit: base.commit, how: base.how },
    head: { ref: head.ref, commit: head.commit, how: head.how },
    rows: a.rows,
    ...(on.versions.length ? { nodes: on.from } : {}),
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
