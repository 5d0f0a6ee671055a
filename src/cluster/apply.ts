/**
 * The apply stage: one lane's segment of one split file, streamed to that lane's node on the
 * loader's own MemcachedConnection (quiet sets, a `mn` fence per batch, the handshake and the
 * reconnect fence, --retries, --timeout), with the node's counters read before and after over
 * that same socket, as the loader reads them around each file:
 *
 *   open: stats ─► earlier holders (Redis) ─► handshake, fence ─► record (Redis)
 *   for each batch: still the owner? ─► send (waits for room) ─► … ─► all acknowledged ─► stats ─► close
 *
 * Still the owner: without a lease, `guard.stillOwner()` before each batch; with one, the lock
 * read once before the first batch and then in the background (lease.ts), each batch asking the
 * monotonic clock only.
 *
 * The segment is read a piece at a time and a batch is handed on only while the connection has
 * room (--max-buffered-bytes), so memory stays flat. Nothing is ever sent to another node.
 * applyHandOff is the same apply with its batches handed over by the split in this process
 * (hand-off.ts) instead of read from a segment: one loop, applyBatches, serves both.
 *
 * Losing ownership stops the handing on at once. With a lease (the cluster's guard, lease.ts)
 * the socket is reset and nothing more is written, not even what was handed on: the new owner
 * waits until the node no longer lists this socket (`hooks.fence`, the other side of the takeover
 * fence, docs/protocol.md), so nothing of it can land after the new owner's writes. Without a
 * lease (a guard that only answers stillOwner), what was handed on (at most
 * --max-buffered-bytes) is still awaited.
 *
 * With `hooks.kept` (a worker's, kept-conn.ts) the apply takes the node's connection the last one
 * left open, and hands it back if it ends clean: the socket asks `stats` and is fenced and
 * recorded again under this job (`nextJob`), and the counters' baseline is the last after-reading.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RunOptions } from '../config/options.js';
import { ERROR_CODES, InterruptedError, MemcLoadError, ServerError, SpoolError } from '../errors.js';
import type { BatchOutcome } from '../memcached/batch.js';
import { MemcachedConnection } from '../memcached/connection.js';
import type { ConnIdentity } from '../memcached/handshake.js';
import { laneOptions, outcomeCounts } from '../memcached/router.js';
import { RoomWait } from '../pipeline/room.js';
import { shapeMismatch, shapeOf, type LaneAddress, type SplitManifest } from './manifest.js';
import { LeaseWatch, type OwnershipGuard } from './lease.js';
import type { KeptConnection, KeptConnections } from './kept-conn.js';
import { NodeCounters, type Identity, type NodeIdentity, type NodeLosses } from './node-counters.js';
import type { HandOffSource } from './hand-off.js';
import type { SegmentBatch, SegmentTotals } from './segment-format.js';
import { SegmentSource } from './segment-source.js';
import { releaseLost, takeoverError } from './takeover-end.js';

export type { OwnershipGuard } from './lease.js';
export type { NodeIdentity } from './node-counters.js';

/**
 * The new holder's side of the takeover fence (queue/apply-fence.ts keeps it in Redis): the
 * connections that earlier applies on this node opened, recorded before their first set.
 */
export interface NodeFence {
  /** Earlier holders' connections to wait out on the node as it is now (null: unread); a restarted node has none of them. */
  earlier(node: NodeIdentity | null): Promise<readonly (ConnIdentity | null)[]>;
  /** Before a socket's first set: records it for later holders. Rejects when this worker no longer holds the job. */
  record(self: ConnIdentity | null, node: NodeIdentity | null): Promise<void>;
  /** The node no longer lists the earlier holders' connections: forget them. */
  passed(): Promise<void>;
  /** This apply's sockets were all acknowledged and closed: forget them too. */
  release(): Promise<void>;
}

export interface ApplyHooks {
  /** Stops handing on batches; what was handed on is still awaited. */
  readonly signal?: AbortSignal;
  readonly fence?: NodeFence;
  /** The worker's connections kept from one apply on a node to the next. */
  readonly kept?: KeptConnections;
}

export interface ApplyResult {
  readonly file: string;
  /** The lane: its node, `host:port`. */
  readonly server: string;
  /** Records in the lane's segment. */
  readonly records: number;
  /** Records handed to the connection (all of them, unless stopped early). */
  readonly sent: number;
  /** Records memcached acknowledged as stored. */
  readonly acknowledged: number;
  /** Records memcached refused as too large for an item: rejected lines (`too_large`), as in the loader. */
  readonly tooLarge: number;
  /** Records not stored: refused by an error reply, or in a batch never acknowledged. */
  readonly failedWrites: number;
  readonly failedByReason: Readonly<Record<string, number>>;
  readonly batches: number;
  readonly batchesAcknowledged: number;
  /** Rise of the node's `evictions` and `store_no_memory` over the apply. */
  readonly evictions: number;
  readonly storeNoMemory: number;
  /**
   * The node as read after the apply, timed by its own clock (null when unread or nothing was
   * sent). The orchestrator compares later readings with it (memcached/restart-rule.ts): a node
   * that restarted since has lost what this apply stored.
   */
  readonly node: Identity | null;
  /** `guard.stillOwner()` said false: the rest of the segment was not sent. */
  readonly lostOwnership: boolean;
  /** Why the lane's part of the file is not fully and safely stored; null when it is. */
  readonly error: MemcLoadError | null;
  readonly seconds: number;
}

/**
 * Streams `manifest`'s segment for `server` to that node. Never throws for what can go wrong on
 * the way (a missing segment, a node down, evictions under --fail-on-evictions): that is `error`.
 */
export async function applySegment(
  manifest: SplitManifest,
  server: string,
  options: RunOptions,
  guard: OwnershipGuard,
  hooks: ApplyHooks = {},
): Promise<ApplyResult> {
  const started = performance.now();
  const file = manifest.file;
  const lane = manifest.lanes.find((l) => l.server === server);
  const refuse = (error: MemcLoadError): ApplyResult => ({ ...emptyResult(file, server, lane?.records ?? 0, lane?.batches ?? 0, started), error });
  if (lane === undefined) {
    return refuse(new SpoolError(`${file}: ${server} is not a lane of its split (lanes: ${manifest.lanes.map((l) => l.server).join(', ')})`, { file, server }));
  }
  const differs = shapeMismatch(manifest.shape, shapeOf(options));
  if (differs !== null) {
    return refuse(new SpoolError(`${file}: refusing to apply its spool to ${server}: ${differs}; run with the split's options`, { file, server }));
  }
  if (lane.handOff === true) {
    // Its split fed another apply of this lane in its own process, which had it all acknowledged;
    // that apply's job did not complete (its worker stopped just after). Nothing here to send.
    return refuse(new SpoolError(`${file}: its split handed ${server}'s records straight to an apply whose worker stopped before its job completed; there is no segment to apply again: enqueue again, and the file is split anew`, { file, server }));
  }
  if (lane.segment === null) return emptyResult(file, server, 0, 0, started);
  const path = join(manifest.folder, lane.segment);
  const size = await stat(path).then((s) => s.size, (err: Error) => err);
  if (size !== lane.bytes) {
    const why = typeof size === 'number' ? `${size} bytes, the manifest says ${lane.bytes}` : size.message;
    return refuse(new SpoolError(`${file}: segment ${path} for ${server} is unusable (${why}); delete ${manifest.folder} to split the file again`, { file, server }));
  }
  const unreadable = (err: Error) => new SpoolError(`${file}: could not read segment ${path} for ${server} (${err.message}); delete ${manifest.folder} to split the file again`, { file, server, cause: err });
  const source = new SegmentSource(path);
  return applyBatches(file, lane, source, () => lane, options, guard, hooks, started, (totals) => {
    if (totals.records === lane.records && totals.batches === lane.batches) return null;
    return new SpoolError(`${file}: segment ${path} holds ${totals.records} records in ${totals.batches} batches, the manifest says ${lane.records} in ${lane.batches}; delete ${manifest.folder} to split the file again`, { file, server });
  }, unreadable);
}

/**
 * The lane's batches as its split in this process hands them over (hand-off.ts), streamed to the
 * node exactly as a segment's are: same connection, fence, lease and counters.
 */
export async function applyHandOff(file: string, source: HandOffSource, options: RunOptions, guard: OwnershipGuard, hooks: ApplyHooks = {}): Promise<ApplyResult> {
  const lane = source.lane;
  const stopped = (err: Error) => new SpoolError(`${file}: its split stopped before handing ${lane.server} every record (${err.message}); the file is split again`, { file, server: lane.server, cause: err });
  return applyBatches(file, lane, source, () => source.pushed, options, guard, hooks, performance.now(), () => null, stopped);
}

/** What an apply reads its batches from: a segment in the spool, or its split's hand-off. */
interface BatchSource {
  batches(): AsyncGenerator<SegmentBatch>;
  /** The connection is done with this batch's bytes. */
  release(buf: Uint8Array): void;
  /** The totals read; throws if the source stopped part-way. */
  end(): SegmentTotals;
  close(): Promise<void>;
}

function emptyResult(file: string, server: string, records: number, batches: number, started: number): ApplyResult {
  return { file, server, records, batches, ...noCounts(), seconds: (performance.now() - started) / 1000 };
}

/** An apply's counts before it sent anything. */
function noCounts() {
  return {
    sent: 0,
    acknowledged: 0,
    tooLarge: 0,
    failedWrites: 0,
    failedByReason: {} as Record<string, number>,
    batchesAcknowledged: 0,
    evictions: 0,
    storeNoMemory: 0,
    node: null as Identity | null,
    lostOwnership: false,
    error: null as MemcLoadError | null,
  };
}

async function applyBatches(
  file: string,
  lane: LaneAddress,
  source: BatchSource,
  /** The lane's records and batches, as the result reports them. */
  size: () => { readonly records: number; readonly batches: number },
  options: RunOptions,
  guard: OwnershipGuard,
  hooks: ApplyHooks,
  started: number,
  /** The source's totals against what the split said it holds: the error, or null. */
  check: (totals: SegmentTotals) => MemcLoadError | null,
  /** The source failed to give a batch. */
  unreadable: (err: Error) => MemcLoadError,
): Promise<ApplyResult> {
  const server = lane.server;
  const r = noCounts();
  const address = { host: lane.host, port: lane.port, label: lane.server };
  const hint = `is memcached running at ${server}? Start it; this file stays pending, and applying it again resends the whole segment`;
  const connOptions = { ...laneOptions(options), unreachableHint: hint };
  const fingerprint = JSON.stringify([address, connOptions]);
  const kept: KeptConnection | null = hooks.kept?.take(server, fingerprint) ?? null;
  const counters = kept?.counters ?? new NodeCounters(address, options.responseTimeoutMs);
  // Unread (the node's `stats` failed): every fence record is kept, none is dropped as a restart's.
  let node: NodeIdentity | null = null;
  const fence = hooks.fence;
  /** The socket as the node lists it, once recorded: a lost lease releases it from the same port. */
  let mine: ConnIdentity | null = null;
  let earlier: readonly (ConnIdentity | null)[] = [];
  // The connection's first socket reads `stats` before its handshake: the baseline and the node's
  // identity come from it, and the earlier holders' sockets it adds are fenced on a `stats conns`
  // asked after Redis was read, as when they were read before connecting.
  const onStats = async (reply: Readonly<Record<string, string>> | null) => {
    node = await counters.before(reply);
    earlier = fence === undefined ? [] : await fence.earlier(node);
    return earlier;
  };
  const room = new RoomWait();
  const wake = () => room.wake();
  const onOutcome = (o: BatchOutcome): void => {
    source.release(o.batch.buf); // the connection is done with it: its read buffer may be reused
    const counts = outcomeCounts(o);
    if (o.delivered) r.batchesAcknowledged++;
    r.acknowledged += counts.loaded;
    r.tooLarge += counts.tooLarge;
    r.failedWrites += counts.failed;
    for (const [reason, n] of Object.entries(o.failedByReason)) r.failedByReason[reason] = (r.failedByReason[reason] ?? 0) + n;
    if (!o.delivered) r.error ??= asError(o.error, server);
    wake();
  };
  const what = `apply ${basename(file)} on ${server}`;
  const lease = guard.leaseUntil === undefined ? null : new LeaseWatch(guard as Required<OwnershipGuard>, what, (err) => {
    r.lostOwnership = true;
    conn.destroy(err); // an RST: the kernel sends nothing more of what this socket holds
    wake();
  });
  // A record refused because the lock is another's ends the apply as a lost lease, not as a retry.
  const lostIf = (err: Error): never => {
    if ((err as { code?: string }).code === ERROR_CODES.LEASE) {
      r.lostOwnership = true;
      conn.destroy(err);
    }
    throw err;
  };
  // This job's own: a kept connection drops the last job's (nextJob) before this one writes anything.
  const job = {
    writeGate: lease?.gate ?? null,
    onStats,
    beforeWrites: fence === undefined ? null : (self: ConnIdentity | null) => ((mine = self), fence.record(self, node).catch((err: Error) => lostIf(err))),
  };
  const route = kept?.route ?? { to: onOutcome };
  route.to = onOutcome;
  const conn = kept !== null && kept.conn.nextJob(job) ? kept.conn : new MemcachedConnection(address, { ...connOptions, ...job }, (o) => route.to(o));
  if (kept !== null && conn !== kept.conn) void kept.conn.close();
  const passed = () => void (earlier.length > 0 && fence?.passed().catch(() => {}));
  conn.on('drain', wake);
  conn.once('connect', passed);
  let losses: NodeLosses | null = null;
  let keep = false;
  try {
    await handOn(source, conn, { r, file, server, signal: hooks.signal, guard, lease, room, maxBufferedBytes: options.maxBufferedBytes });
    if (r.error === null && !r.lostOwnership) {
      r.error = check(source.end());
    }
    // Every set settled, the node's counters are read over the socket that wrote them, before it closes.
    await room.until(() => conn.pendingBatches + conn.inFlightBatches === 0);
    const asked = r.batchesAcknowledged > 0 ? conn.stats() : null;
    if (asked !== null) losses = await counters.after(options.failOnEvictions, file, asked);
  } catch (err) {
    r.error ??= unreadable(err as Error);
  } finally {
    await source.close();
    // Kept only clean: all acknowledged, read after over this socket, the lease held throughout.
    // Any other closes under the lease, as before: a write it still makes is gated, or reset.
    keep = hooks.kept !== undefined && conn.state === 'connected' && r.error === null && !r.lostOwnership && r.failedWrites === 0 && losses?.error === null && losses.node !== null;
    if (!keep) await conn.close();
    lease?.stop();
    conn.off('drain', wake).off('connect', passed);
  }
  // And once this job's record is released: a later holder would wait for the idle socket.
  const keptBack = keep && (fence === undefined || (await fence.release().then(() => true, () => false)));
  if (keptBack) hooks.kept?.give(server, { conn, counters, route, fingerprint });
  else if (keep) await conn.close();
  if (r.lostOwnership && lease !== null) {
    r.error = null; // the file's outcome is the new holder's
    // Reset while cut off, the socket may still be listed: the new holder waits for it to go.
    releaseLost(address, mine as ConnIdentity | null); // set in beforeWrites, which TypeScript cannot follow
  }
  else if (fence !== undefined) r.error = takeoverError(r.error, earlier, file, server);
  // Kept when anything went wrong: a socket reset with writes unacknowledged may still be listed.
  if (fence !== undefined && r.error === null && !r.lostOwnership && r.failedWrites === 0 && !keptBack) await fence.release().catch(() => {});
  if (r.error === null && r.failedWrites > 0) {
    const reasons = Object.entries(r.failedByReason).map(([why, n]) => `${n} × ${why}`).join(', ');
    r.error = new ServerError(`${file}: memcached ${server} refused ${r.failedWrites} write(s) (${reasons}); see docs/operations.md, then apply the file again`, { file, server });
  }
  if (r.batchesAcknowledged > 0) {
    // Over a socket of its own only when the connection had none open at the end (lost, given up).
    losses ??= await counters.after(options.failOnEvictions, file, null);
    r.evictions = losses.evictions;
    r.storeNoMemory = losses.storeNoMemory;
    r.error ??= losses.error;
    r.node = losses.node;
  }
  const { records, batches } = size();
  return { file, server, records, batches, ...r, seconds: (performance.now() - started) / 1000 };
}

interface HandOn {
  readonly r: { sent: number; lostOwnership: boolean; error: MemcLoadError | null };
  readonly file: string;
  readonly server: string;
  readonly signal: AbortSignal | undefined;
  readonly guard: OwnershipGuard;
  readonly lease: LeaseWatch | null;
  readonly room: RoomWait;
  readonly maxBufferedBytes: number;
}

/**
 * The segment's batches handed to the connection, each while it has room. A function of its own
 * because its loop is what V8 optimizes while it runs (on-stack replacement): inside
 * applySegment, all of applySegment was compiled, then thrown away at the first line past the
 * loop that had never run, and compiled again: ~0.36 s of TurboFan on the worker's first file,
 * the largest single compile there (issue #19 item 4).
 */
async function handOn(source: BatchSource, conn: MemcachedConnection, s: HandOn): Promise<void> {
  const { r, lease, guard } = s;
  let leased = false;
  for await (const batch of source.batches()) {
    if (r.error !== null) break;
    if (s.signal?.aborted) {
      r.error = new InterruptedError(`${s.file}: apply to ${s.server} interrupted`, { file: s.file, server: s.server });
      break;
    }
    // With a lease, Redis is read once here and then in the background at half the lease left;
    // each batch asks only the monotonic clock (the gate), as the connection does before each
    // write. A read per batch cost 60-135 µs of CPU, ~7,200 times per 3 M lines (issue #19 item 4).
    const owned = lease === null ? await guard.stillOwner() : leased ? lease.gate() === null : (leased = await lease.renew());
    if (!owned) {
      r.lostOwnership = true;
      break;
    }
    r.sent += batch.records;
    if (!conn.send({ buf: batch.buf, records: batch.records, tag: 0 })) {
      // 'drain' follows, or an outcome (a server given up settles everything at once).
      await s.room.until(() => conn.bufferedBytes < s.maxBufferedBytes || r.error !== null);
    }
  }
}

function asError(err: Error | undefined, server: string): MemcLoadError {
  if (err instanceof MemcLoadError) return err;
  return new SpoolError(`${server}: ${err?.message ?? 'not delivered'}`, { server, cause: err });
}
