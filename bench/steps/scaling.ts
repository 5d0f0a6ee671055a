/**
 * Step 4, scaling: memc-load, default settings, on data sets of growing size (SCALES): µs per
 * line and peak RSS, to show the cost per line stays flat and memory bounded.
 */
import { checkText, log } from '../lib/log.js';
import type { Dataset } from '../lib/dataset.js';
import type { ScaleRow } from '../lib/report.js';
import type { Rig } from '../lib/rig.js';
import { scaleRowOf } from '../lib/rows.js';
import type { Settings } from '../lib/settings.js';
import { joinNotes } from './data.js';

export async function scalingRows(rig: Rig, scales: readonly Dataset[]): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const ds of scales) {
    log(`scaling: memc-load default on ${ds.expect.lines} lines (${ds.gen.files.length} file(s))`);
    const smp = await rig.loader(ds, []);
    const lines = ds.expect.lines;
    log(`  ${smp.wallS.toFixed(2)} s, ${((smp.wallS / lines) * 1e6).toFixed(2)} µs/line, ${smp.peakRssMb?.toFixed(0)} MB peak RSS, ${checkText(smp.problems)}`);
    rows.push(scaleRowOf(ds, smp));
  }
  return rows;
}

/** The note under the scaling table: sizes skipped for want of disk (`dataNote`), and the 10 M run when it was not asked for. */
export function scalingNote(s: Settings, dataNote: string | null): string | null {
  if (!s.skipScaling && !s.scales.some((n) => n >= 10_000_000)) {
    return joinNotes(dataNote, '10 M lines not run (add 10000000 to SCALES: ~3 GB raw, ~1.6 GB gzipped, generated once into the cache)');
  }
  return dataNote;
}
