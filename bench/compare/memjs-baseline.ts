/**
 * The naive baseline: what a loader written the obvious way does with a popular npm client.
 * Lines are read in order, judged and encoded plainly (test/helpers/oracle.ts: protobufjs),
 * and each record is written with one awaited memjs `set` (binary protocol, one round trip
 * per record, no pipelining) on its type's server. Stops after LIMIT records.
 *
 *   node dist/bench/compare/memjs-baseline.js LIMIT idfa=HOST:PORT,gaid=…,adid=…,dvid=… FILE…
 *
 * Prints one JSON line: {lines, records, loopMs, loopCpuMs} — the loop alone, start-up excluded.
 */
import memjs from 'memjs';
import { forEachLine } from '../lib/expect.js';
import { encode, judgeLine, type OracleRecord } from '../../test/helpers/oracle.js';

const [limitArg, serversArg, ...files] = process.argv.slice(2);
const limit = Number(limitArg);
if (!Number.isInteger(limit) || limit <= 0 || !serversArg || files.length === 0) {
  process.stderr.write('usage: memjs-baseline LIMIT idfa=HOST:PORT,… FILE…\n');
  process.exit(2);
}
const clients = new Map<string, memjs.Client>();
for (const pair of serversArg.split(',')) {
  const [type, addr] = pair.split('=');
  clients.set(type as string, memjs.Client.create(addr, { retries: 0, timeout: 5, logger: { log: () => {} } }));
}

// Lines are collected first (a slice: small), so the timed loop is read → judge → encode → set.
const raw: string[] = [];
let records = 0;
await forEachLine(files, (line) => {
  if (records >= limit) return false;
  raw.push(line);
  const r = judgeLine(line);
  if (typeof r !== 'string') records++;
  return true;
});

let lines = 0;
let written = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const line of raw) {
  const r = judgeLine(line);
  if (r === 'blank') continue;
  lines++;
  if (typeof r === 'string') continue;
  const rec = r as OracleRecord;
  await (clients.get(rec.type) as memjs.Client).set(rec.key, encode(rec), { expires: 0 });
  written++;
}
const loopMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
for (const c of clients.values()) c.close();
process.stdout.write(`${JSON.stringify({ lines, records: written, loopMs, loopCpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
