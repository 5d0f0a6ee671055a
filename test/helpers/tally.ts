/**
 * FileTallies built through their methods, as the pipeline builds them: a chunk's counts, then
 * batches sent and settled. For report and render tests.
 */
import type { BatchSettled } from '../../src/memcached/router.js';
import type { RejectReason } from '../../src/record/reasons.js';
import { FileTally } from '../../src/report/file-tally.js';

/** A settled batch; counts not given are 0, and it was delivered unless an error is given. */
export function settled(server: string, over: Partial<BatchSettled>): BatchSettled {
  const delivered = over.error === undefined || over.error === null;
  return {
    server,
    tag: 0,
    records: (over.loaded ?? 0) + (over.failed ?? 0) + (over.tooLarge ?? 0),
    delivered,
    loaded: 0,
    tooLarge: 0,
    failed: 0,
    failedByReason: {},
    failures: [],
    error: null,
    latencySeconds: delivered ? 0.001 : null,
    frames: new ArrayBuffer(0),
    ...over,
  };
}

/** A file read to its end: `lines` non-blank lines, with `rejected` among them, and these batches. */
export function tallyOf(
  path: string,
  index: number,
  lines: number,
  rejected: Partial<Record<RejectReason, number>> = {},
  batches: readonly BatchSettled[] = [],
): FileTally {
  const t = new FileTally(path, index, 0);
  t.addChunk({ lines, nonBlank: lines, rejected, appWarnings: 0 });
  for (const b of batches) {
    t.addSent(b.records);
    t.batchSettled(b);
  }
  t.endOfInput(null);
  return t;
}
