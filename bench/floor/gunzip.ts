/**
 * Floor part (a): gunzip every file, in order, with no parsing — the least CPU any loader must
 * spend before it sees a line. Both ways the loader knows are measured, and the cheaper counts:
 *   pool    each file streamed through Node's zlib (the work runs on libuv's pool) into a sink;
 *   inline  each file read and inflated on this thread (logfile/inline-gunzip.ts).
 *
 *   node dist/bench/floor/gunzip.js FILE…
 *
 * Prints one JSON line: {bytes, wallMs, cpuMs, method, methods: {pool, inline, isal}} — CPU of this
 * process around the zlib work (process.cpuUsage: every thread, the pool included), start-up
 * excluded; the top-level figures are the cheaper method's.
 */
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InlineGunzip, inlineGunzipAvailable } from '../../src/logfile/inline-gunzip.js';
import { isalEngine, isalStatus } from '../../src/logfile/isal-gunzip.js';

interface Measure {
  readonly bytes: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function measure(inflate: (file: string, sink: (n: number) => void) => Promise<void>): Promise<Measure> {
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const file of files) await inflate(file, (n) => (bytes += n));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { bytes, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const files = process.argv.slice(2);
const pool = await measure((file, sink) =>
  pipeline(
    createReadStream(file, { highWaterMark: 1 << 20 }),
    createGunzip({ chunkSize: 1 << 20 }),
    new Writable({
      highWaterMark: 1 << 22,
      write(chunk: Buffer, _enc, cb) {
        sink(chunk.length);
        cb();
      },
    }),
  ),
);
const inline = inlineGunzipAvailable()
  ? await measure(async (file, sink) => {
      for await (const piece of new InlineGunzip(file)) sink(piece.length);
    })
  : null;
const isal = isalStatus().ok
  ? await measure(async (file, sink) => {
      for await (const piece of new InlineGunzip(file, undefined, undefined, isalEngine)) sink(piece.length);
    })
  : null;
const methods = { pool, inline, isal };
const [method, best] = (Object.entries(methods).filter(([, m]) => m !== null) as [string, Measure][]).reduce((a, b) => (b[1].cpuMs < a[1].cpuMs ? b : a));
process.stdout.write(`${JSON.stringify({ ...best, method, methods })}\n`);
