/**
 * Steps 2 and 2b: the real memc-load bin on the main data set.
 *   2.  the default configuration and --workers 0 … cores (WORKERS), into the four memcached
 *   2b. the default into null servers that store nothing: the loader with the servers' work off
 *       its cores (a diagnostic row, held to no target)
 */
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { checkText, log, runLabel } from '../lib/log.js';
import { ticksToSeconds } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import type { Rig } from '../lib/rig.js';
import { rowOf, type RowBasis } from '../lib/rows.js';
import { measuredSample, pickMedian, type Sample } from '../lib/sample.js';
import { NullSinks } from '../lib/sinks.js';

/** One row per loader configuration: the default, then each WORKERS value. */
export async function loaderConfigRows(rig: Rig, basis: RowBasis): Promise<Row[]> {
  const { s } = rig;
  const configs: { name: string; args: string[] }[] = [
    { name: 'memc-load (default)', args: [] },
    ...s.workers.map((n) => ({ name: `memc-load --workers ${n}`, args: ['--workers', String(n)] })),
  ];
  // Round-robin over the configurations, so that a drift in the machine's speed during the
  // benchmark (other guests on the host come and go) falls on every row alike.
  const samples: Sample[][] = configs.map(() => []);
  for (let i = 0; i < s.runs; i++) {
    for (const [k, c] of configs.entries()) {
      log(`${c.name}${runLabel(i, s.runs)}`);
      const smp = await rig.loader(rig.main, c.args);
      log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, ${smp.peakRssMb?.toFixed(0)} MB peak RSS, others ${smp.othersCores.toFixed(2)} cores, idle ${smp.idleCoreS.toFixed(2)} core-s, main thread waited ${smp.mainWaitS?.toFixed(2) ?? '?'} s, ${checkText(smp.problems)}`);
      (samples[k] as Sample[]).push(smp);
    }
  }
  return configs.map((c, k) => rowOf(basis, c.name, 'memc-load', pickMedian(samples[k] as Sample[]), { command: ['memc-load', ...s.loaderArgs, ...c.args].join(' ') }));
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
