/** What the first batches of a segment hold: records, and distinct keys (read with the segment reader). */
import { readFileSync } from 'node:fs';
import { SegmentReader } from '../../../src/cluster/segment-format.js';

export function segmentKeys(path: string, batches: number): { records: number; distinct: number } {
  const all = new SegmentReader(path).push(readFileSync(path));
  const keys = new Set<string>();
  let records = 0;
  for (const b of all.slice(0, batches)) {
    records += b.records;
    // Frames: `ms <key> <len> …\r\n<value>\r\n`; the value's length says where the next frame starts.
    const buf = Buffer.from(b.buf);
    let i = 0;
    while (i < buf.length) {
      const eol = buf.indexOf('\r\n', i);
      const head = buf.toString('latin1', i, eol).split(' ');
      if (head[0] === 'mn') break;
      keys.add(head[1]!);
      i = eol + 2 + Number(head[2]) + 2;
    }
  }
  return { records, distinct: keys.size };
}
