/**
 * A connection's batches, oldest first, and what their replies mean. Pure: the socket is the
 * connection's.
 *
 *     acked           | in flight                     | pending
 *     (settled, gone) | written, waiting for their MN | queued, not written yet
 *   ... b0 b1 b2      | b3 b4 b5                      | b6 b7 b8 b9      <- push()
 *                       ^ oldest: charged with every    ^ takeNext() writes from here
 *                         reply before the next MN
 *   MN: the oldest settles (ack).  Socket lost: in flight becomes pending again, as is (requeue).
 *
 * Replies are matched by order only: memcached answers a connection's commands in order, a quiet
 * `ms` that succeeds says nothing, and `mn` always answers `MN` (protocol.txt, "Meta No-Op"). So
 * every reply before an `MN` belongs to the oldest batch in flight. The `O` opaque would not
 * help: `SERVER_ERROR` lines carry no flags.
 */
import { ProtocolError } from '../errors.js';
import type { Batch, BatchFailure, BatchOutcome } from './batch.js';
import { dropOversize } from './handshake.js';
import type { Reply } from './response-parser.js';

interface Entry {
  readonly batch: Batch;
  /** What goes on the wire: the batch without records over the server's item size. */
  wire: Uint8Array;
  /** The item limit `wire` was cut for; -1 before the first cut. */
  cutFor: number;
  /** Records taken out of `wire` because memcached would refuse them (and unlink the key). */
  dropped: number;
  tooLarge: number;
  failed: number;
  failures: BatchFailure[] | null;
  /** Error replies by reason line; null until the first (failures are rare). */
  reasons: Map<string, number> | null;
}

/** Failure texts kept per batch; counts stay exact. */
const MAX_FAILURES = 10;
const NO_FAILURES: readonly BatchFailure[] = Object.freeze([]);
const NO_REASONS: Readonly<Record<string, number>> = Object.freeze({});
const TOO_LARGE = /too large/i;

export class BatchQueue {
  readonly #server: string;
  #queue: Entry[] = [];
  #inFlight = 0;
  #bytes = 0;

  /** `server`: `host:port`, for errors. */
  constructor(server: string) {
    this.#server = server;
  }

  /** Batches queued or in flight. */
  get length(): number {
    return this.#queue.length;
  }
  get inFlight(): number {
    return this.#inFlight;
  }
  get pending(): number {
    return this.#queue.length - this.#inFlight;
  }
  /** Bytes of batches queued or in flight (not yet settled). */
  get bytes(): number {
    return this.#bytes;
  }

  push(batch: Batch): void {
    this.#queue.push({ batch, wire: batch.buf, cutFor: -1, dropped: 0, tooLarge: 0, failed: 0, failures: null, reasons: null });
    this.#bytes += batch.buf.byteLength;
  }

  /**
   * The oldest pending batch's bytes, now in flight; records whose key and value exceed `limit`
   * (the server's item size, when known) are taken out. The caller checks `pending > 0`.
   */
  takeNext(limit: number | null): Uint8Array {
    const entry = this.#queue[this.#inFlight++] as Entry;
    if (limit === null || entry.cutFor === limit) return entry.wire;
    const { buf, dropped } = dropOversize(entry.batch.buf, limit);
    entry.wire = buf;
    entry.dropped = dropped;
    entry.cutFor = limit;
    return buf;
  }

  /**
   * A reply to the sets in flight: charged to the oldest batch; on `MN` that batch settles and
   * its outcome is returned. Anything a load connection cannot get is a ProtocolError.
   */
  reply(reply: Reply): BatchOutcome | null {
    const server = this.#server;
    if (this.#inFlight === 0) throw new ProtocolError(`unexpected ${reply.kind} from ${server} with no batch in flight`, { server });
    const entry = this.#queue[0] as Entry;
    switch (reply.kind) {
      case 'MN':
        return this.#ack(entry);
      case 'HD': // a set sent without `q`: stored
        return null;
      case 'SERVER_ERROR':
        // memcached swallows the value and answers this; retrying cannot help (SPEC: too_large).
        if (TOO_LARGE.test(reply.message)) entry.tooLarge++;
        else charge(entry, reply.kind, reply.message);
        return null;
      case 'CLIENT_ERROR':
      case 'ERROR':
        charge(entry, reply.kind, reply.message);
        return null;
      case 'NS':
      case 'EX':
      case 'NF':
      case 'EN':
        charge(entry, reply.kind, reply.flags.join(' '));
        return null;
      default:
        throw new ProtocolError(`unexpected ${reply.kind} from ${server} in reply to sets`, { server });
    }
  }

  /** The socket is gone: the batches in flight are pending again, as they were, errors forgotten. Returns how many. */
  requeue(): number {
    const n = this.#inFlight;
    for (let i = 0; i < n; i++) {
      const e = this.#queue[i] as Entry;
      e.tooLarge = 0;
      e.failed = 0;
      e.failures = null;
      e.reasons = null;
    }
    this.#inFlight = 0;
    return n;
  }

  /** Settles every batch as not delivered, in order, and empties the queue. */
  failAll(error: Error): BatchOutcome[] {
    const queue = this.#queue;
    this.#queue = [];
    this.#inFlight = 0;
    this.#bytes = 0;
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'string' ? code : 'not delivered';
    return queue.map(({ batch }) => ({
      batch,
      delivered: false,
      tooLarge: 0,
      failed: batch.records,
      failures: NO_FAILURES,
      failedByReason: batch.records > 0 ? { [reason]: batch.records } : NO_REASONS,
      error,
    }));
  }

  #ack(entry: Entry): BatchOutcome {
    this.#queue.shift();
    this.#inFlight--;
    this.#bytes -= entry.batch.buf.byteLength;
    const { records } = entry.batch;
    const tooLarge = Math.min(entry.dropped + entry.tooLarge, records);
    // CLIENT_ERROR on a bad key is followed by ERROR for its value line: two replies, one record.
    const failed = Math.min(entry.failed, records - tooLarge);
    return {
      batch: entry.batch,
      delivered: true,
      tooLarge,
      failed,
      failures: entry.failures ?? NO_FAILURES,
      failedByReason: entry.reasons === null ? NO_REASONS : capReasons(entry.reasons, failed),
    };
  }
}

function charge(entry: Entry, kind: string, message: string): void {
  entry.failed++;
  entry.failures ??= [];
  if (entry.failures.length < MAX_FAILURES) entry.failures.push({ kind, message });
  entry.reasons ??= new Map();
  const reason = message === '' ? kind : `${kind} ${message}`;
  entry.reasons.set(reason, (entry.reasons.get(reason) ?? 0) + 1);
}

/**
 * Reason counts summing to `failed`: a bad key draws two replies for one record (CLIENT_ERROR,
 * then ERROR for its value line), so the first reasons keep their counts and the excess is cut.
 */
function capReasons(reasons: Map<string, number>, failed: number): Record<string, number> {
  const out: Record<string, number> = {};
  let left = failed;
  for (const [reason, n] of reasons) {
    const take = Math.min(n, left);
    if (take > 0) out[reason] = take;
    left -= take;
  }
  return out;
}
