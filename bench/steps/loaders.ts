/**
 * Steps 2 and 2b: the real memc-load bin on the main data set.
 *   2.  the default configuration, the same on each other Node of NODES (issue #19's target
 *       holds on Node 20, 22 and 24), and --workers 0 … cores (WORKERS), into the four memcached
 *   2b. the default into null servers that store nothing: the loader with the servers' work off
 *       its cores (a diagnostic row, held to no target)
 */
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { checkText, log, runLabel } from '../lib/log.js';
import { ticksToSeconds } from '../lib/proc.js';
import { nodeRowName, usedProblem, usedText, type NodeBin, type NodesResult, type Used } from '../lib/nodes.js';
import { DEFAULT_ROW, type Row } from '../lib/report.js';
import type { Rig } from '../lib/rig.js';
import { rowOf, type RowBasis } from '../lib/rows.js';
import { measuredSample, pickMedian, type Sample } from '../lib/sample.js';
import { NullSinks } from '../lib/sinks.js';

interface Config {
  readonly name: string;
  readonly args: string[];
  /** Another Node than the harness's (NODES). */
  readonly node?: NodeBin;
}

/**
 * One row per loader configuration: the default, the default on each other Node of `nodes`,
 * then each WORKERS value. A run on another Node must inflate and encode as the default row's run
 * of the same round did (both addons are N-API: one build serves every Node), else it is FAILED:
 * it would be measuring another loader.
 */
export async function loaderConfigRows(rig: Rig, basis: RowBasis, nodes: NodesResult): Promise<Row[]> {
  const { s } = rig;
  const configs: Config[] = [
    { name: DEFAULT_ROW, args: [] },
    ...nodes.extra.map((node) => ({ name: nodeRowName(DEFAULT_ROW, node.version), args: [], node })),
    ...s.workers.map((n) => ({ name: `memc-load --workers ${n}`, args: ['--workers', String(n)] })),
  ];
  // Round-robin over the configurations, so that a drift in the machine's speed during the
  // benchmark (other guests on the host come and go) falls on every row alike.
  const samples: Sample[][] = configs.map(() => []);
  for (let i = 0; i < s.runs; i++) {
    let defaultUsed: Used | null = null;
    for (const [k, c] of configs.entries()) {
      log(`${c.name}${runLabel(i, s.runs)}`);
      let smp = await rig.loader(rig.main, c.args, undefined, c.node ? { node: c.node.path } : {});
      if (c.name === DEFAULT_ROW) defaultUsed = smp.used ?? null;
      const wrong = c.node ? usedProblem(smp.used ?? { inflater: null, encoder: null, why: [] }, defaultUsed, c.node.version) : null;
      if (wrong !== null) smp = { ...smp, problems: [...smp.problems, wrong] };
      log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, ${smp.peakRssMb?.toFixed(0)} MB peak RSS, others ${smp.othersCores.toFixed(2)} cores, idle ${smp.idleCoreS.toFixed(2)} core-s, main thread waited ${smp.mainWaitS?.toFixed(2) ?? '?'} s${smp.used ? `, ${usedText(smp.used)}` : ''}, ${checkText(smp.problems)}`);
      (samples[k] as Sample[]).push(smp);
    }
  }
  return configs.map((c, k) => {
    const runs = samples[k] as Sample[];
    const extra: Partial<Row> = { command: ['memc-load', ...s.loaderArgs, ...c.args].join(' ') };
    if (c.name === DEFAULT_ROW && nodes.extra.length + nodes.skipped.length > 0) return rowOf(basis, c.name, 'memc-load', pickMedian(runs), { ...extra, note: `on the harness's Node ${nodes.running}: ${usedNote(runs)}` });
    if (!c.node) return rowOf(basis, c.name, 'memc-load', pickMedian(runs), extra);
    const from = c.node.pkg ? `npm's ${c.node.pkg}` : c.node.path;
    return rowOf(basis, c.name, 'memc-load', pickMedian(runs), {
      ...extra,
      node: c.node.version,
      note: `the default row run by Node ${c.node.version} (${from}) in the same rotation: ${usedNote(runs)}, checked against the default row's run on ${nodes.running} of the same round`,
    });
  });
}

/** What a row's runs inflated and encoded with, from each run's log: one text when all agree. */
function usedNote(runs: readonly Sample[]): string {
  const texts = runs.map((r) => (r.used ? usedText(r.used) : 'not known'));
  const distinct = [...new Set(texts)];
  if (distinct.length === 1) return `${distinct[0]}${runs.length > 1 ? ' in every run' : ''} (the loader's log)`;
  return `${texts.map((t, i) => `run ${i + 1} ${t}`).join(', ')} (the loader's log)`;
}

/** The diagnostic row: the default configuration into null sinks. */
export async function nullSinkRow(rig: Rig, basis: RowBasis): Promise<Row> {
  const { s } = rig;
  const sinkSamples: Sample[] = [];
  for (let i = 0; i < s.runs; i++) {
    log(`memc-load (default) into null sinks${runLabel(i, s.runs)}`);
    const smp = await loaderIntoSinks(rig);
    log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, sinks ${smp.serverCpuS?.toFixed(2)} s CPU, ${checkText(smp.problems)}`);
    sinkSamples.push(smp);
  }
  return rowOf(basis, 'memc-load (default) into null sinks', 'diagnostic', pickMedian(sinkSamples), {
    command: ['memc-load', ...s.loaderArgs].join(' '),
    note:
      'not a target row: the same run with null servers (bench/lib/null-sink.ts) in place of memcached, which read the sets, store nothing and answer each `mn`; ' +
      'server CPU s is theirs. It shows what the loader does when the servers are not on its cores, as in production. Checked: the loader\'s counts and renames, and every sink received exactly the pre-rendered sets\' bytes',
  });
}

/**
 * The real bin, default settings, into null servers (bench/lib/null-sink.ts) instead of
 * memcached, so what the loader does alone shows beside what it does sharing the cores with the
 * servers. The check: the loader's own counts and renames, and every sink got exactly the bytes
 * of the pre-rendered sets for its device type.
 */
async function loaderIntoSinks(rig: Rig): Promise<Sample> {
  const sinks = await NullSinks.start();
  try {
    const sink0 = sinks.cpuTicks();
    const sinkCpuS = (): number => ticksToSeconds(sinks.cpuTicks() - sink0);
    const { m, around, problems } = await rig.runBin(rig.main, sinks.cliArgs(), [], sinkCpuS);
    const got = await sinks.totals();
    for (const [i, type] of DEVICE_TYPES.entries()) {
      const sets = (got.bytes[i] ?? NaN) - 4 * (got.fences[i] ?? NaN);
      const want = rig.ms[i]?.length ?? NaN;
      if (sets !== want) problems.push(`the ${type} sink received ${sets} bytes of sets, the pre-rendered sets are ${want}`);
    }
    return measuredSample(m, { ...around, serverCpuS: sinkCpuS(), serverLruCpuS: null }, null, problems);
  } finally {
    sinks.stop();
  }
}
