/**
 * The multi-host loader's two data stages (issue #14), as library functions with no queue in
 * them: the orchestrator (BullMQ jobs) calls them, and owns order, locks and renames.
 *
 * THE CONTRACT (stable from its first commit; additions only):
 *
 * - A **lane** is one memcached node, named by its address exactly as the router and the pools
 *   name it (`ServerAddress.label`, `host:port` as written), as on one host (pool/lanes.ts
 *   runLanes, the one definition): the pools' nodes in device-type order, a node listed for two
 *   device types once. A key goes to the node the single-host loader puts it on.
 *
 * - `splitFile(file, spoolDir, options, { signal?, logger? }) → SplitManifest`
 *   Reads, inflates, parses and encodes `file` once, in worker threads (`options.workers` of them;
 *   keep it ≥ 1 so the caller's event loop stays free), and writes one segment per lane with a
 *   record into `spoolDir/<file name>/`: the ready frames in line order, in the loader's batches,
 *   each closed by its `mn` (segment-format.ts). Segments, then the manifest, are each written to
 *   a temporary name and renamed: the manifest's presence means the split is complete.
 *   Idempotent: a complete split of the same input (size and mtime) with the same shaping options
 *   is returned without work; one with other options is refused (SpoolError, MCL_ERR_SPOOL); a
 *   changed input is split again. A crash's leftovers are ignored (and removed by removeSpool).
 *   Bad lines are counted by reason; `manifest.verdict` is the file's data verdict under
 *   --max-error-rate (`failed_load` with `error` when it could not be read to its end).
 *   Throws FileReadError (cannot open, or changed while split), SpoolError, InterruptedError.
 *
 *   With `hooks.handOff` (issue #19 item 4, hand-off.ts) the lanes whose applies wait in the
 *   caller's process are fed to them (`HandOffSource`) instead of written; the manifest marks
 *   them `handOff` and is written only once each such apply reported a clean end (all
 *   acknowledged, lease held); otherwise the split throws `HandOffFailed` and writes none. A
 *   manifest with a lane handed off is never returned as an earlier complete split.
 *
 * - `readManifest(file, spoolDir) → SplitManifest | undefined`
 *   The manifest of a complete, current split, or undefined (none yet, or the input changed).
 *
 * - `applySegment(manifest, server, options, guard, { signal? }) → ApplyResult`
 *   Streams the lane's segment to its node with the loader's MemcachedConnection: quiet sets, an
 *   `mn` fence per batch, the handshake and reconnect fence, --retries, --timeout,
 *   --max-buffered-bytes, and the node's eviction/restart counters read before and after.
 *   Awaits `guard.stillOwner()` before each batch and hands on nothing more once it is false
 *   (`lostOwnership`); with a lease (`guard.leaseUntil`) it awaits it before the first batch and
 *   then in the background at half the lease left, checks the lease's end on the monotonic clock
 *   before each batch and each write, and resets its socket and writes nothing once it ran out, and with `hooks.fence` it first waits until the node lists
 *   no earlier holder's connection (the takeover fence, see apply.ts). Never re-routes, never throws
 *   for an operational failure: `error` names the file, the node and what to do; null means the
 *   lane's records are all acknowledged. Lanes of one file may be applied in any order and on
 *   any host; one lane's files must be applied in file order, one at a time (that is the queue's).
 *
 * - `applyHandOff(file, source, options, guard, hooks) → ApplyResult`: the same apply fed by a
 *   HandOffSource, its split running in this process; its end goes back by `source.settle()`.
 *   applySegment refuses a lane handed off (MCL_ERR_SPOOL): it has no segment.
 *
 * - `fileVerdict(manifest, results) → { outcome, error }`: the file's outcome once every lane has
 *   applied, by SPEC.md's rules through the loader's own rule (report/file-tally.ts fileOutcome;
 *   too-large records count as rejected).
 *
 * - `removeSpool(file, spoolDir)`: deletes the file's segments and manifest; the commit step
 *   calls it after `markDone` (logfile/mark-done.ts), which stays the rename.
 */
import type { FileOutcome } from '../report/file-report.js';
import { fileOutcome } from '../report/file-tally.js';
import type { ApplyResult } from './apply.js';
import type { SplitManifest } from './manifest.js';

export { applyHandOff, applySegment, type ApplyHooks, type ApplyResult, type NodeFence, type NodeIdentity, type OwnershipGuard } from './apply.js';
export { readManifest, removeSpool, spoolFolder, type ManifestLane, type SplitManifest, type SplitShape } from './manifest.js';
export { splitFile, type SplitHooks } from './split.js';
export { HandOffs, HandOffSource, type HandOffEnd } from './hand-off.js';
export { markDone } from '../logfile/mark-done.js';

/**
 * The file's outcome from its manifest and one ApplyResult per lane with records, by the rule the
 * loader's FileTally decides with (report/file-tally.ts fileOutcome): any lane error, lost
 * ownership or failed write (or a read error in the split) fails the load; otherwise rejected
 * lines plus too-large records against --max-error-rate.
 */
export function fileVerdict(manifest: SplitManifest, results: readonly ApplyResult[]): { outcome: FileOutcome; error: string | null } {
  const errors: string[] = [];
  if (manifest.error !== null) errors.push(manifest.error);
  for (const lane of manifest.lanes) {
    if (lane.records === 0) continue;
    const r = results.find((x) => x.server === lane.server);
    if (r === undefined) errors.push(`${lane.server}: not applied`);
    else if (r.error !== null) errors.push(r.error.message);
    else if (r.lostOwnership) errors.push(`${lane.server}: apply stopped (lost ownership of the job)`);
    else if (r.acknowledged + r.tooLarge + r.failedWrites !== lane.records) errors.push(`${lane.server}: ${r.acknowledged} of ${lane.records} record(s) acknowledged`);
  }
  const failedWrites = results.reduce((n, r) => n + r.failedWrites, 0);
  const tooLarge = results.reduce((n, r) => n + r.tooLarge, 0);
  const counts = { lines: manifest.lines, rejected: manifest.rejectedTotal + tooLarge, failedWrites, loadFailed: errors.length > 0 };
  const outcome = fileOutcome(counts, manifest.shape.maxErrorRate);
  return { outcome, error: outcome === 'failed_load' ? errors.join('; ') || `${failedWrites} failed write(s)` : null };
}
