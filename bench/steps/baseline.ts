/**
 * Step 3, the naive baseline: memjs, one awaited set per record, on a slice of the main data set
 * (BASELINE_RECORDS), extrapolated to the whole of it.
 */
import { join } from 'node:path';
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { dataFiles } from '../lib/dataset.js';
import { expectSlice, type Expectation } from '../lib/expect.js';
import { checkText, log } from '../lib/log.js';
import { childFailed, lastJson, runMeasured } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { DIST, type Rig } from '../lib/rig.js';
import { rowOf, type RowBasis } from '../lib/rows.js';
import { measuredSample, type Sample } from '../lib/sample.js';
import { verify } from '../lib/verify.js';

export async function baselineRow(rig: Rig, basis: RowBasis): Promise<Row> {
  const e = rig.main.expect;
  const limit = Math.min(rig.s.baselineRecords, e.records);
  log(`memjs baseline: one awaited set per record, first ${limit} records`);
  const sliceExpect = await expectSlice(dataFiles(rig.main), limit, rig.s.sample);
  const b = await memjs(rig, limit, sliceExpect);
  const scale = b.lines > 0 ? e.lines / b.lines : NaN;
  const wallS = b.loopS * scale;
  log(`  ${b.lines} lines in ${b.loopS.toFixed(2)} s (${Math.round(b.lines / b.loopS)} lines/s) → ${wallS.toFixed(1)} s extrapolated; ${checkText(b.problems)}`);
  const extrapolated = limit < e.records;
  return rowOf(
    basis,
    'memjs, one awaited set per record',
    'baseline',
    { best: { ...b, wallS, cpuS: b.loopCpuS * scale, serverCpuS: (b.serverCpuS ?? NaN) * scale, serverLruCpuS: (b.serverLruCpuS ?? NaN) * scale, idleCoreS: b.idleCoreS * scale, mainWaitS: b.mainWaitS === null ? null : b.mainWaitS * scale }, range: null, problems: [...b.problems], notes: [...(b.check?.notes ?? [])] },
    {
      extrapolatedFrom: extrapolated ? b.records : null,
      note: extrapolated
        ? `extrapolated from ${b.records.toLocaleString('en')} records (${b.lines.toLocaleString('en')} lines, ${b.loopS.toFixed(2)} s); peak RSS is the slice's`
        : undefined,
    },
  );
}

/** memjs, one awaited set per record, on the first `limit` records. */
async function memjs(rig: Rig, limit: number, expect: Expectation): Promise<Sample & { lines: number; records: number; loopS: number; loopCpuS: number }> {
  const before = await rig.freshServers();
  const mon = await rig.startWatch();
  const addrs = DEVICE_TYPES.map((t, i) => `${t}=${rig.servers.handles[i]?.address.label}`).join(',');
  const m = await runMeasured({
    script: join(DIST, 'compare', 'memjs-baseline.js'),
    args: [String(limit), addrs, ...dataFiles(rig.main)],
    timeoutMs: rig.s.timeoutMs,
    captureStdout: true,
  });
  const around = mon.end(m.cpuMs / 1000);
  const out = lastJson<{ lines: number; records: number; loopMs: number; loopCpuMs: number }>(m.stdout);
  const extra: string[] = [];
  if (m.exitCode !== 0 || !out) extra.push(childFailed('memjs', m));
  else if (out.records !== expect.records) extra.push(`memjs wrote ${out.records} records, the slice has ${expect.records}`);
  const check = await verify(rig.servers, expect, before, extra);
  return {
    ...measuredSample(m, around, check, check.problems),
    lines: out?.lines ?? 0,
    records: out?.records ?? 0,
    loopS: (out?.loopMs ?? NaN) / 1000,
    loopCpuS: (out?.loopCpuMs ?? NaN) / 1000,
  };
}
