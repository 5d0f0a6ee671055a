/**
 * Floor part (a): gunzip every file, in order, with no parsing — the least CPU any loader must
 * spend before it sees a line. Streams each file through zlib (as a loader would: the work
 * runs on libuv's pool) into a sink that drops the bytes.
 *
 *   node dist/bench/floor/gunzip.js FILE…
 *
 * Prints one JSON line: {bytes, wallMs, cpuMs} — CPU of this process around the zlib work
 * (process.cpuUsage: every thread, the pool included), start-up excluded.
 */
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

const files = process.argv.slice(2);
let bytes = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const file of files) {
  await pipeline(
    createReadStream(file, { highWaterMark: 1 << 20 }),
    createGunzip({ chunkSize: 1 << 18 }),
    new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb();
      },
    }),
  );
}
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ bytes, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
