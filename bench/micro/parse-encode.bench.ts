/**
 * encodeChunk throughput on realistic lines (SPEC.md "Input": 32-hex ids, lat/lon uniform in
 * ±180, 2–100 distinct app ids in 0..9998), over 1 MiB chunks as the pipeline feeds it.
 *
 *   node dist/bench/micro/parse-encode.bench.js        LINES=200000 ROUNDS=10 PACKED=0 DRY=0 ENCODER=js
 *
 * ENCODER=native runs the C fast path (pipeline/native-encode.ts) where it is built.
 */
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { BufferPool, FRAME_BUFFER_MIN_BYTES } from '../../src/pipeline/buffer-pool.js';
import { encodeChunk } from '../../src/pipeline/encode-chunk.js';
import type { EncodeSettings } from '../../src/pipeline/chunk-types.js';
import { resolveEncoder } from '../../src/pipeline/native-encode.js';

const LINES = Number(process.env.LINES ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const CHUNK = 1024 * 1024;

// Deterministic so runs are comparable (mulberry32).
let seed = 0x9e3779b9;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function makeLine(): string {
  let id = '';
  for (let i = 0; i < 32; i++) id += Math.floor(rand() * 16).toString(16);
  const appCount = 2 + Math.floor(rand() * 99);
  const apps = new Set<number>();
  while (apps.size < appCount) apps.add(Math.floor(rand() * 9999));
  const geo = () => (rand() * 360 - 180).toFixed(6);
  return `${DEVICE_TYPES[Math.floor(rand() * 4)]}\t${id}\t${geo()}\t${geo()}\t${[...apps].join(',')}\n`;
}

/** Cut `data` into chunks of about CHUNK bytes, each ending on a newline. */
function chunks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + CHUNK, data.length);
    if (end < data.length) end = data.lastIndexOf(0x0a, end - 1) + 1;
    out.push(data.subarray(start, end));
    start = end;
  }
  return out;
}

const data = Buffer.from(Array.from({ length: LINES }, makeLine).join(''), 'latin1');
const parts = chunks(data);
const settings: EncodeSettings = {
  maxLineBytes: 1024 * 1024,
  ttl: 0,
  packed: process.env.PACKED === '1',
  dry: process.env.DRY === '1',
  serverLabels: ['127.0.0.1:33013', '127.0.0.1:33014', '127.0.0.1:33015', '127.0.0.1:33016'],
  maxSamples: 10,
  encoder: process.env.ENCODER === 'native' ? resolveEncoder('native') : 'js',
};

// Frame buffers come from a pool and go back once counted, as in the pipeline (encoders.ts), so
// the figures are the encoder's and not the allocator's or the garbage collector's.
const frames = new BufferPool(16, FRAME_BUFFER_MIN_BYTES);
const alloc = (n: number): Uint8Array => frames.take(n);

function round(): { ms: number; cpuMs: number; out: number } {
  let out = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const part of parts) {
    const r = encodeChunk(part, settings, true, alloc);
    for (const f of r.frames) {
      if (f === null) continue;
      out += f.length;
      frames.give(f.buffer as ArrayBuffer);
    }
    if (r.dryText !== null) out += r.dryText.length;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(c0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, out };
}

round();
round(); // warm-up: let the JIT settle
const times: number[] = [];
const cpuTimes: number[] = [];
let outBytes = 0;
for (let i = 0; i < ROUNDS; i++) {
  const r = round();
  times.push(r.ms);
  cpuTimes.push(r.cpuMs);
  outBytes = r.out;
}
times.sort((a, b) => a - b);
cpuTimes.sort((a, b) => a - b);
// CPU time is reported too: on a busy machine wall time also counts waiting for a core.
const cpuMedian = cpuTimes[Math.floor(cpuTimes.length / 2)];
const median = times[Math.floor(times.length / 2)];
const mean = times.reduce((a, b) => a + b, 0) / times.length;
const sd = Math.sqrt(times.reduce((a, b) => a + (b - mean) ** 2, 0) / times.length);
const mb = data.length / 1e6;
console.log(
  `encodeChunk${settings.packed ? ' (packed)' : ''}${settings.dry ? ' (dry)' : ''}: ${LINES} lines, ` +
    `${mb.toFixed(1)} MB in ${parts.length} chunks (mean line ${(data.length / LINES).toFixed(0)} B), ` +
    `out ${(outBytes / 1e6).toFixed(1)} MB`,
);
console.log(
  `  median ${median.toFixed(1)} ms (±${((sd / mean) * 100).toFixed(1)}% over ${ROUNDS} rounds): ` +
    `${((LINES / median) * 1000 / 1e6).toFixed(2)} M lines/s, ${((mb / median) * 1000).toFixed(0)} MB/s`,
);
console.log(
  `  CPU time median ${cpuMedian.toFixed(1)} ms: ${((LINES / cpuMedian) * 1000 / 1e6).toFixed(2)} M lines/CPU-s, ` +
    `${((mb / cpuMedian) * 1000).toFixed(0)} MB/CPU-s (includes GC threads)`,
);
console.log(`  node ${process.version}, ${process.platform}/${process.arch}`);
