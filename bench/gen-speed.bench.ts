/**
 * How fast `memc-load generate` writes logs: line building alone, then whole files (lines +
 * parallel gzip + disk), in lines/s and MB/s of uncompressed TSV, with CPU time beside wall
 * time so a busy machine shows as such.
 *
 *   node dist/bench/gen-speed.bench.js        FILES=1 LINES=1000000 LEVEL=6 BAD=0.01 REPEAT=0.1
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteSink } from '../src/generate/byte-sink.js';
import { emptyTally, generateLogs, LineSource, Rng } from '../src/generate/index.js';

const FILES = Number(process.env.FILES ?? 1);
const LINES = Number(process.env.LINES ?? 1_000_000);
const LEVEL = Number(process.env.LEVEL ?? 6);
const mix = { badRate: Number(process.env.BAD ?? 0.01), repeatRate: Number(process.env.REPEAT ?? 0.1), blankRate: 0.001 };

interface Timing {
  readonly name: string;
  readonly lines: number;
  readonly bytes: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function timed(name: string, run: () => Promise<{ lines: number; bytes: number }>): Promise<Timing> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { lines, bytes } = await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { name, lines, bytes, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function row(t: Timing): string {
  const s = t.wallMs / 1000;
  return [
    t.name.padEnd(28),
    `${(t.lines / s / 1e6).toFixed(2)} M lines/s`.padStart(16),
    `${(t.bytes / s / 1e6).toFixed(1)} MB/s`.padStart(13),
    `wall ${s.toFixed(2)} s`.padStart(13),
    `cpu ${(t.cpuMs / 1000).toFixed(2)} s`.padStart(12),
  ].join(' ');
}

const lineOnly = await timed(`build lines (${LINES})`, async () => {
  const source = new LineSource(new Rng(1), mix);
  const sink = new ByteSink();
  const tally = emptyTally();
  for (let done = 0; done < LINES; done += 4096) {
    source.writeLines(sink, Math.min(4096, LINES - done), tally);
    sink.take();
  }
  return tally;
});

const dir = await mkdtemp(join(tmpdir(), 'memc-load-gen-bench-'));
let files: Timing;
try {
  files = await timed(`write ${FILES} × ${LINES} gzip -${LEVEL}`, async () =>
    generateLogs({ dir, files: FILES, lines: LINES, gzipLevel: LEVEL, seed: 1, ...mix }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log(`node ${process.version}, ${availableParallelism()} cores, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? 4}`);
console.log(row(lineOnly));
console.log(row(files));
console.log(JSON.stringify({ bench: 'gen-speed', files: FILES, lines: LINES, level: LEVEL, results: [lineOnly, files] }));
