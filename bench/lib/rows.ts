/** Timed runs made into the result's rows (bench/lib/report.ts): rates, the floor ratio, rounding. */
import type { Dataset } from './dataset.js';
import { round2 } from './proc.js';
import { MiB, type Row, type ScaleRow } from './report.js';
import type { Picked, Sample } from './sample.js';

/** What every main-table row is measured against: the main data set and the floor. */
export interface RowBasis {
  /** Non-blank lines of the main data set. */
  readonly lines: number;
  /** Its uncompressed bytes. */
  readonly bytes: number;
  readonly floorS: number;
}

const round2OrNull = (n: number | null): number | null => (n === null ? null : round2(n));
const mbOrNull = (n: number | null): number | null => (n === null ? null : Math.round(n));

/** A row of the main table from a configuration's runs; `vsSlowest` is filled in once all rows are in. */
export function rowOf(basis: RowBasis, name: string, kind: Row['kind'], picked: Picked, extra: Partial<Row> = {}): Row {
  const b = picked.best;
  return {
    name,
    kind,
    lines: basis.lines,
    bytes: basis.bytes,
    wallS: round2(b.wallS),
    wallRangeS: picked.range ? [round2(picked.range[0]), round2(picked.range[1])] : null,
    cpuS: round2OrNull(b.cpuS),
    serverCpuS: round2OrNull(b.serverCpuS),
    serverLruCpuS: round2OrNull(b.serverLruCpuS),
    peakRssMb: mbOrNull(b.peakRssMb),
    linesPerS: Math.round(basis.lines / b.wallS),
    mbPerS: round2(basis.bytes / MiB / b.wallS),
    xFloor: round2(b.wallS / basis.floorS),
    vsSlowest: 0,
    extrapolatedFrom: null,
    ok: picked.problems.length === 0,
    problems: picked.problems,
    notes: picked.notes,
    load1: b.load1,
    othersCores: round2(b.othersCores),
    idleCoreS: round2(b.idleCoreS),
    mainWaitS: round2OrNull(b.mainWaitS),
    ...extra,
  };
}

/** A row of the scaling table: one run of the default loader on `ds`. */
export function scaleRowOf(ds: Dataset, smp: Sample): ScaleRow {
  const lines = ds.expect.lines;
  return {
    lines,
    files: ds.gen.files.length,
    bytes: ds.gen.bytes,
    wallS: round2(smp.wallS),
    cpuS: round2OrNull(smp.cpuS),
    usPerLine: round2((smp.wallS / lines) * 1e6),
    cpuUsPerLine: smp.cpuS === null ? null : round2((smp.cpuS / lines) * 1e6),
    peakRssMb: mbOrNull(smp.peakRssMb),
    linesPerS: Math.round(lines / smp.wallS),
    ok: smp.problems.length === 0,
    problems: smp.problems,
    notes: [...(smp.check?.notes ?? [])],
    load1: smp.load1,
    othersCores: round2(smp.othersCores),
  };
}
