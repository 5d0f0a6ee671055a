/** Step 5 (MICRO=1): the micro benchmarks, bench/micro/*.bench.js, each in its own process. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../lib/log.js';
import { runMeasured } from '../lib/proc.js';
import type { MicroResult } from '../lib/report.js';
import { DIST } from '../lib/rig.js';
import type { Settings } from '../lib/settings.js';

export async function runMicro(s: Settings): Promise<MicroResult[]> {
  const dir = join(DIST, 'micro');
  if (!existsSync(dir)) return [];
  const out: MicroResult[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.bench.js')).sort()) {
    log(`micro: ${name}`);
    // The micro benches read their own LINES/ROUNDS/…: do not hand them this run's settings.
    const env = { ...process.env };
    for (const k of ['FILES', 'LINES', 'REPEAT', 'BAD', 'SEED', 'WORKERS', 'SCALES', 'RUNS', 'SAMPLE', 'QUICK', 'OUT']) delete env[k];
    const m = await runMeasured({ script: join(dir, name), args: [], env, timeoutMs: s.timeoutMs, captureStdout: true });
    const text = m.stdout.trim();
    out.push({ name, ok: m.exitCode === 0, output: text.split('\n').slice(-20).join('\n') });
  }
  return out;
}
