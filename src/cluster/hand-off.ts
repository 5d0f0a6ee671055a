/**
 * The hand-off: a split gives a lane's frames straight to that lane's apply when both run in
 * this process, instead of writing them to the spool for the apply to read back (issue #19
 * item 4: the spool's write, read-back, flush and removal were ~0.65 s of CPU per 3 M lines on
 * one host, the largest part of the cluster's price beside the single host).
 *
 *   apply(F, lane) waits for F's split ─► offer(F, lane)
 *   split(F) starts ─► claim(F, lanes): each lane with an offer here gets a HandOffSource
 *     Feed ─► lane handed off? ─► HandOffSource.push ─► the apply's connection (as the single host)
 *                               └─► SegmentWriter (the spool), as before
 *   split(F) ends ─► every source finished ─► every handed-off apply settled clean ─► manifest
 *
 * Why the manifest waits for the applies: a lane handed off has no segment, so nothing could
 * apply it again. A manifest naming such a lane is written only once its apply has every record
 * acknowledged with its lease held; a hand-off that did not end clean fails the split (no
 * manifest: the split runs again, writing the spool for whichever lanes no apply here waits on).
 * A worker that dies mid-way loses its split and applies together, and the new holders split
 * the file again: the input stays until the commit renames it.
 */
import { SpoolError } from '../errors.js';
import { RoomWait } from '../pipeline/room.js';
import type { LaneAddress } from './manifest.js';
import type { SegmentBatch, SegmentTotals } from './segment-format.js';

/** How the apply fed by a hand-off ended, as the split must know before it writes the manifest. */
export interface HandOffEnd {
  /** Every record acknowledged, the node read after, the job's lock and lease held throughout. */
  readonly clean: boolean;
  /** The apply lost its lease or lock: the job runs again (here or elsewhere), so the split must too. */
  readonly lostOwnership: boolean;
  /** Why it did not end clean. */
  readonly why: string | null;
}

/**
 * One lane's frames of one file, from the split's feed to the apply's connection in this
 * process: the same batches the segment would hold, in order, each handed back to the feed
 * (`done`) once the connection is through with it. Bounded: the split's feed waits (`full`)
 * while the apply has `bound` bytes or more not yet taken.
 */
export class HandOffSource {
  readonly lane: LaneAddress;
  readonly #bound: number;
  readonly #room: RoomWait;
  readonly #queue: { batch: SegmentBatch; done: () => void }[] = [];
  #queuedBytes = 0;
  /** Batches the apply took and has not released: each buffer's `done`. */
  readonly #held = new Map<Uint8Array, () => void>();
  readonly #next = new RoomWait();
  #finished = false;
  #failed: Error | null = null;
  /** The apply stopped taking batches: what is pushed from now on goes straight back. */
  #dropped = false;
  #records = 0;
  #batches = 0;
  #bytes = 0;
  #settle!: (end: HandOffEnd) => void;
  /** The apply's end, as it reports it (settle); the split awaits it before the manifest. */
  readonly ended: Promise<HandOffEnd>;

  /** `room` is the split's feed's: woken whenever the apply takes a batch or stops. */
  constructor(lane: LaneAddress, bound: number, room: RoomWait) {
    this.lane = lane;
    this.#bound = bound;
    this.#room = room;
    this.ended = new Promise((resolve) => (this.#settle = resolve));
  }

  // The split's side.

  /** One batch of the lane (frames ending with `mn\r\n`); `done` once the apply no longer needs its bytes. */
  push(frames: Uint8Array, records: number, done: () => void): void {
    this.#records += records;
    this.#batches++;
    this.#bytes += frames.byteLength;
    if (this.#dropped) return done();
    this.#queue.push({ batch: { buf: frames, records }, done });
    this.#queuedBytes += frames.byteLength;
    this.#next.wake();
  }

  /** What the split has pushed so far (all of the lane once it finished). */
  get pushed(): SegmentTotals {
    return { bytes: this.#bytes, records: this.#records, batches: this.#batches };
  }

  /** The apply holds `bound` bytes or more it has not taken: the split waits (its room is woken). */
  get full(): boolean {
    return !this.#dropped && this.#queuedBytes >= this.#bound;
  }

  /** Every batch of the lane is pushed. */
  finish(): void {
    this.#finished = true;
    this.#next.wake();
  }

  /** The split stopped without finishing: the apply's next read throws `err`. */
  fail(err: Error): void {
    this.#failed ??= err;
    this.#next.wake();
  }

  // The apply's side (the shape of SegmentSource, so one apply loop serves both).

  /** The lane's batches as the split pushes them; throws if the split failed before finishing. */
  async *batches(): AsyncGenerator<SegmentBatch> {
    for (;;) {
      await this.#next.until(() => this.#queue.length > 0 || this.#finished || this.#failed !== null);
      if (this.#failed !== null && !this.#finished) throw this.#failed;
      const item = this.#queue.shift();
      if (item === undefined) return;
      this.#queuedBytes -= item.batch.buf.byteLength;
      this.#held.set(item.batch.buf, item.done);
      this.#room.wake();
      yield item.batch;
    }
  }

  /** The connection is done with `buf` (it has an outcome): back to the feed's pool. */
  release(buf: Uint8Array): void {
    const done = this.#held.get(buf);
    if (done === undefined) return;
    this.#held.delete(buf);
    done();
  }

  /** The totals of what was pushed; throws unless the split finished the lane. */
  end(): SegmentTotals {
    if (!this.#finished) throw this.#failed ?? new SpoolError(`lane ${this.lane.server}: its split had not finished`, { server: this.lane.server });
    return this.pushed;
  }

  /** The apply stops taking batches: the ones waiting, and any pushed later, go straight back. */
  async close(): Promise<void> {
    this.#dropped = true;
    for (const item of this.#queue.splice(0)) item.done();
    this.#queuedBytes = 0;
    // Batches handed to a connection that never gave an outcome: their buffers are not reused,
    // as a segment's read is not (segment-source.ts).
    this.#room.wake();
  }

  /** Reported by the apply's job once it knows (after its lock is checked): resolves `ended`. */
  settle(end: HandOffEnd): void {
    this.#settle(end);
  }
}

/**
 * A split whose hand-off did not end clean: it writes no manifest. With `lostOwnership` an apply
 * runs again (its lease ran out, or another worker took it over), so the split must run again too.
 */
export class HandOffFailed extends SpoolError {
  readonly lostOwnership: boolean;
  constructor(message: string, file: string, lostOwnership: boolean) {
    super(message, { file });
    this.lostOwnership = lostOwnership;
  }
}

/** The first hand-off of `file` that did not end clean, as the split's failure; null when all did. */
export function handOffFailure(file: string, ends: readonly (readonly [string, HandOffEnd])[]): HandOffFailed | null {
  const bad = ends.filter(([, e]) => !e.clean);
  if (bad.length === 0) return null;
  const lost = bad.some(([, e]) => e.lostOwnership);
  const why = bad.map(([lane, e]) => `${lane}: ${e.why ?? 'not clean'}`).join('; ');
  const then = lost ? 'the split runs again, for the apply that runs again' : 'the file fails with it';
  return new HandOffFailed(`${file}: its apply on ${why}; no manifest written: ${then}`, file, lost);
}

/** An apply's offer to be fed by its file's split in this process. */
export interface Offer {
  /** Resolves with the source once a split here claimed the offer. */
  readonly claimed: Promise<HandOffSource>;
  /** Takes the offer back; false when a split had already claimed it (the apply must then be fed). */
  withdraw(): boolean;
}

interface Waiting {
  readonly claim: (source: HandOffSource) => void;
  state: 'waiting' | 'withdrawn' | 'claimed';
}

/** How long a lane's next apply is waited for after this process's last one on it ended, or after it began to serve the lane. */
export const NEXT_APPLY_MS = 1000;
/** The longest a split waits for its lanes' applies here before it writes the rest to the spool. */
export const CLAIM_WAIT_MS = 10_000;

/** What this process is doing on a lane (its queue runs one job at a time here). */
type Here =
  | { readonly kind: 'starting' | 'applying'; readonly plan: string; readonly file: string }
  | { readonly kind: 'offered'; readonly plan: string; readonly file: string; readonly w: Waiting }
  /** The last apply (of `file`, null: none yet, the lane's queue newly served) ended: its next may come until then. */
  | { readonly kind: 'idle'; readonly plan: string | null; readonly file: string | null; readonly until: number };

/**
 * This process's applies, lane by lane: which wait for their splits (offers), which run, and
 * when the last ended. One per worker process (queue/worker-host.ts).
 *
 * A split claims the offers of its file's applies. Where none is there yet but one is coming
 * (an apply here is starting, or still on an earlier file, or ended a moment ago and its queue
 * is fetching the next), the split waits for it: on one host the split of F then runs beside
 * the applies of F, as the single host's load does, instead of ahead of them through the spool.
 * A lane with nothing here, or whose apply here waits for another file's split, goes to the
 * spool at once; nothing waits longer than CLAIM_WAIT_MS.
 */
export class HandOffs {
  readonly #lanes = new Map<string, Here>();
  /** Splits waiting for a lane to change: each called at the next change. */
  #onChange: (() => void)[] = [];

  /** This process now serves `lane`'s apply queue: its first apply may come in a moment. */
  serving(lane: string): void {
    if (!this.#lanes.has(lane)) this.#set(lane, { kind: 'idle', plan: null, file: null, until: performance.now() + NEXT_APPLY_MS });
  }

  /** An apply job of `file` on `lane` started here. */
  starting(plan: string, file: string, lane: string): void {
    this.#set(lane, { kind: 'starting', plan, file });
  }

  /** The apply of `file` on `lane` waits here for its split. */
  offer(plan: string, file: string, lane: string): Offer {
    let claim!: (source: HandOffSource) => void;
    const claimed = new Promise<HandOffSource>((resolve) => (claim = resolve));
    const w: Waiting = { claim, state: 'waiting' };
    this.#set(lane, { kind: 'offered', plan, file, w });
    return {
      claimed,
      withdraw: () => {
        // Asked again on the way out (waitForSplit's catch after a hand-back): the lane's state has moved on since.
        if (w.state !== 'waiting') return w.state === 'withdrawn';
        w.state = 'withdrawn';
        // It applies from the spool now, or hands its job back (and then ends).
        this.#set(lane, { kind: 'applying', plan, file });
        return true;
      },
    };
  }

  /** The apply job of `file` on `lane` ended here, however. */
  ended(plan: string, file: string, lane: string): void {
    this.#set(lane, { kind: 'idle', plan, file, until: performance.now() + NEXT_APPLY_MS });
  }

  /**
   * The split of `file` takes the offers of its lanes' applies here: one source per lane handed
   * off, built by `make`. Waits, up to `maxWaitMs`, while the apply of `file` is coming on a lane:
   * starting here, or due next after this process's apply of `previous` (the plan's file before
   * it; null for the first), which runs or ended a moment ago. A split running ahead of the
   * applies (a later file) waits for none: those lanes go to the spool.
   */
  async claim(plan: string, file: string, previous: string | null, lanes: readonly string[], make: (lane: string) => HandOffSource, maxWaitMs = CLAIM_WAIT_MS): Promise<Map<string, HandOffSource>> {
    const deadline = performance.now() + maxWaitMs;
    const mine = (p: string | null, f: string | null) => p === null || (p === plan && (f === file || f === previous));
    for (;;) {
      const now = performance.now();
      // The soonest a waited-for lane stops being expected, if nothing changes before.
      let wake = deadline;
      const waiting = lanes.some((lane) => {
        const h = this.#lanes.get(lane);
        if (h === undefined) return false;
        if (h.kind === 'offered') return false; // this file's (claimed below), or another's: that apply waits for another split
        if (h.kind === 'idle') {
          if (!mine(h.plan, h.file) || h.file === file) return false;
          wake = Math.min(wake, h.until);
          return h.until > now;
        }
        return mine(h.plan, h.file); // starting or applying F, or F's predecessor: it ends, and its queue fetches F's
      });
      if (!waiting || now >= deadline) break;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#onChange.push(resolve);
        timer = setTimeout(resolve, Math.max(1, wake - now));
      });
      clearTimeout(timer);
    }
    const sources = new Map<string, HandOffSource>();
    for (const lane of lanes) {
      const h = this.#lanes.get(lane);
      if (h?.kind !== 'offered' || h.plan !== plan || h.file !== file || h.w.state !== 'waiting') continue;
      h.w.state = 'claimed';
      this.#set(lane, { kind: 'applying', plan, file });
      const source = make(lane);
      sources.set(lane, source);
      h.w.claim(source);
    }
    return sources;
  }

  #set(lane: string, h: Here): void {
    this.#lanes.set(lane, h);
    const splits = this.#onChange;
    this.#onChange = [];
    for (const s of splits) s();
  }
}
