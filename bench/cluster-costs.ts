/**
 * The cluster's costs per line and per job, for the throughput model in docs/cluster.md:
 *   node dist/bench/cluster-costs.js FILE.tsv.gz [FILE…]   (needs four memcached: MEMC_PORTS=a,b,c,d)
 * splits each file (worker threads: --workers = cores) and applies every lane, in this process,
 * reading the process's CPU (all threads) and wall around each stage; the servers' CPU is theirs.
 * The per-job overhead of the queue is measured by the tests' rig instead (many tiny files).
 */
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySegment, splitFile } from '../src/cluster/stages.js';
import { resolveOptions } from '../src/config/options.js';

const files = process.argv.slice(2);
const ports = (process.env['MEMC_PORTS'] ?? '33013,33014,33015,33016').split(',');
const options = resolveOptions({
  workers: availableParallelism(),
  servers: { idfa: `127.0.0.1:${ports[0]}`, gaid: `127.0.0.1:${ports[1]}`, adid: `127.0.0.1:${ports[2]}`, dvid: `127.0.0.1:${ports[3]}` },
});
const spool = mkdtempSync(join(tmpdir(), 'memc-load-costs-'));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let lines = 0;
const split = { wall: 0, cpu: 0 };
const apply = { wall: 0, cpu: 0 };
try {
  for (const f of files) {
    let c0 = cpu();
    let t0 = performance.now();
    const m = await splitFile(f, spool, options);
    split.cpu += cpu() - c0;
    split.wall += (performance.now() - t0) / 1000;
    lines += m.lines;
    c0 = cpu();
    t0 = performance.now();
    // One lane at a time, as one worker applying one file would (lanes of a file run in parallel across workers).
    for (const lane of m.lanes) {
      const r = await applySegment(m, lane.server, options, { stillOwner: () => true });
      if (r.error !== null) throw r.error;
    }
    apply.cpu += cpu() - c0;
    apply.wall += (performance.now() - t0) / 1000;
  }
} finally {
  rmSync(spool, { recursive: true, force: true });
}
const us = (s: number) => ((s / lines) * 1e6).toFixed(2);
console.log(JSON.stringify({ lines, split, apply }));
console.log(`split: ${us(split.cpu)} µs CPU/line, ${us(split.wall)} µs wall/line (${options.workers} threads)`);
console.log(`apply: ${us(apply.cpu)} µs CPU/line, ${us(apply.wall)} µs wall/line (one lane at a time)`);
