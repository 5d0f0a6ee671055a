/**
 * Step 2c: the default configuration with each --gunzip inflater (issue #19, items 1 and 5):
 * lines per loader CPU-second for ISA-L (where the addon is built), zlib on the reading thread,
 * and zlib on libuv's pool. Same data, same servers, round-robin as the other loader rows.
 */
import { isalStatus } from '../../src/logfile/isal-gunzip.js';
import { checkText, log, runLabel } from '../lib/log.js';
import type { Row } from '../lib/report.js';
import type { Rig } from '../lib/rig.js';
import { rowOf, type RowBasis } from '../lib/rows.js';
import { pickMedian, type Sample } from '../lib/sample.js';

export async function gunzipModeRows(rig: Rig, basis: RowBasis): Promise<Row[]> {
  const { s } = rig;
  const isal = isalStatus();
  if (!isal.ok) log(`--gunzip isal: no row (${isal.why})`);
  const modes = [...(isal.ok ? ['isal'] : []), 'inline', 'pool'];
  const samples: Sample[][] = modes.map(() => []);
  for (let i = 0; i < s.runs; i++) {
    for (const [k, mode] of modes.entries()) {
      log(`memc-load --gunzip ${mode}${runLabel(i, s.runs)}`);
      const smp = await rig.loader(rig.main, ['--gunzip', mode]);
      log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, ${perCpuSecond(basis.lines, smp.cpuS)} lines per CPU-second, ${checkText(smp.problems)}`);
      (samples[k] as Sample[]).push(smp);
    }
  }
  return modes.map((mode, k) => {
    const best = pickMedian(samples[k] as Sample[]);
    return rowOf(basis, `memc-load --gunzip ${mode}`, 'memc-load', best, {
      command: ['memc-load', ...s.loaderArgs, '--gunzip', mode].join(' '),
      note: `${perCpuSecond(basis.lines, best.best.cpuS)} lines per loader CPU-second`,
    });
  });
}

function perCpuSecond(lines: number, cpuS: number | null): string {
  return cpuS === null || cpuS <= 0 ? '?' : `${Math.round(lines / cpuS / 1000)} k`;
}
