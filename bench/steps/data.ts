/**
 * Step 0, the data: the main data set and the scaling ones, generated once and cached
 * (bench/lib/dataset.ts), all ready before any server starts or clock runs.
 */
import { existsSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR, datasetName, ensureDataset, scaleSpec, type Dataset } from '../lib/dataset.js';
import { log } from '../lib/log.js';
import { MiB } from '../lib/report.js';
import { ROOT } from '../lib/rig.js';
import type { Settings } from '../lib/settings.js';

export interface Data {
  readonly main: Dataset;
  /** The scaling data sets that fit on the disk (none with SKIP_SCALING). */
  readonly scales: readonly Dataset[];
  /** Why a scaling size was left out, or null. */
  readonly scalingNote: string | null;
}

/** `a; b`, or whichever of the two there is. */
export function joinNotes(a: string | null, b: string): string {
  return a ? `${a}; ${b}` : b;
}

export async function prepareData(s: Settings): Promise<Data> {
  const base = { repeat: s.repeat, bad: s.bad, seed: s.seed };
  const main = await ensureDataset({ ...base, files: s.files, lines: s.lines }, { frames: true, sample: s.sample, log });
  const e = main.expect;
  log(`data: ${main.gen.files.length} files, ${e.lines} lines, ${e.records} records, ${e.distinctKeys} distinct keys, ${(main.gen.bytes / MiB).toFixed(0)} MiB raw, ${(main.gen.gzipBytes / MiB).toFixed(0)} MiB gzipped`);
  if (e.distinctKeysSource === 'oracle' && e.distinctKeys !== main.gen.distinctKeys) {
    log(`note: the generator counts ${main.gen.distinctKeys} distinct keys, the oracle ${e.distinctKeys}`);
  }
  const scales: Dataset[] = [];
  let scalingNote: string | null = null;
  if (!s.skipScaling) {
    for (const n of s.scales) {
      const spec = scaleSpec(n, base);
      const free = freeDiskBytes(CACHE_DIR);
      const need = n * 170; // ~160 bytes gzipped a line, plus the prepared expectation
      const cached = existsSync(join(CACHE_DIR, datasetName(spec), 'gen.json'));
      if (!cached && free !== null && free < need * 2) {
        const msg = `scale ${n}: skipped, ${(free / 2 ** 30).toFixed(1)} GiB free on disk, ~${((need * 2) / 2 ** 30).toFixed(1)} GiB wanted`;
        log(msg);
        scalingNote = joinNotes(scalingNote, msg);
        continue;
      }
      scales.push(await ensureDataset(spec, { frames: false, sample: s.sample, log }));
    }
  }
  return { main, scales, scalingNote };
}

function freeDiskBytes(dir: string): number | null {
  try {
    const st = statfsSync(existsSync(dir) ? dir : ROOT);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}
