/**
 * Step 2c: the same data into four pools of two nodes each (8 memcached, each with half the
 * memory), beside the four single servers of step 2 (issue #13). Each pool node is warmed with
 * only the keys placed on it, so the check after the run (counters summed over the eight, a
 * sample read from whichever node holds each key) is as exact as for the singles.
 */
import { DEVICE_TYPES } from '../../src/config/servers.js';
import { Placement } from '../../src/pool/placement.js';
import { checkText, log, runLabel } from '../lib/log.js';
import type { Row } from '../lib/report.js';
import type { Rig } from '../lib/rig.js';
import { rowOf, type RowBasis } from '../lib/rows.js';
import { pickMedian, type Sample } from '../lib/sample.js';
import { Servers } from '../lib/servers.js';

const NODES = 2;
export const POOL_ROW = `memc-load (default), 4 pools × ${NODES} nodes`;

export async function poolRow(rig: Rig, basis: RowBasis): Promise<Row> {
  const { s } = rig;
  const memoryMb = Math.max(512, Math.ceil(rig.servers.memoryMb / NODES));
  log(`starting ${DEVICE_TYPES.length * NODES} × memcached -t 1 -m ${memoryMb} (4 pools of ${NODES})`);
  const servers = await Servers.start(memoryMb, NODES);
  try {
    const ms = splitByNode(servers, rig.ms);
    const md = splitByNode(servers, rig.md);
    const samples: Sample[] = [];
    for (let i = 0; i < s.runs; i++) {
      log(`${POOL_ROW}${runLabel(i, s.runs)}`);
      const smp = await rig.loader(rig.main, [], { servers, ms, md });
      log(`  ${smp.wallS.toFixed(2)} s wall, ${smp.cpuS?.toFixed(2)} s CPU, ${smp.peakRssMb?.toFixed(0)} MB peak RSS, servers ${smp.serverCpuS?.toFixed(2)} s CPU, ${checkText(smp.problems)}`);
      samples.push(smp);
    }
    return rowOf(basis, POOL_ROW, 'memc-load', pickMedian(samples), {
      command: ['memc-load', ...s.loaderArgs, '--idfa N1,N2 --gaid N3,N4 --adid N5,N6 --dvid N7,N8'].join(' '),
      note: `the four single servers' data over ${DEVICE_TYPES.length * NODES} memcached, ${NODES} per device type, placed by the default weighted ketama; server CPU s is the eight's`,
    });
  } finally {
    for (const h of servers.handles) await h.stop();
  }
}

/**
 * The rig's per-type `ms`/`md` frames, one buffer per pool node: each command goes to the node
 * its key is placed on (by the loader's own placement: this only decides where to warm).
 */
function splitByNode(servers: Servers, frames: readonly Buffer[]): Buffer[] {
  const out: Buffer[][] = servers.handles.map(() => []);
  servers.pools().forEach((nodes, type) => {
    const buf = frames[type];
    if (buf === undefined) return;
    const placement = new Placement(nodes.map((n) => ({ host: n.address.host, port: n.address.port, weight: 1 })), 'ketama-weighted');
    let p = 0;
    while (p < buf.length) {
      const keyStart = p + 3;
      const keyEnd = buf.indexOf(0x20, keyStart);
      const headerEnd = buf.indexOf(0x0a, keyEnd) + 1;
      // `ms <key> <len> …\r\n<value>\r\n`, or `md <key> q\r\n`.
      const end = buf[p + 1] === 0x73 ? headerEnd + Number(buf.toString('latin1', keyEnd + 1, buf.indexOf(0x20, keyEnd + 1))) + 2 : headerEnd;
      out[type * servers.nodesPerType + placement.nodeOf(buf, keyStart, keyEnd)]?.push(buf.subarray(p, end));
      p = end;
    }
  });
  return out.map((parts) => Buffer.concat(parts));
}
