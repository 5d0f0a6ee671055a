/**
 * The old holder's side of the takeover fence (docs/protocol.md "The takeover fence"). memcached
 * has no fencing token, so a worker that lost its job (paused, cut off) must stop by itself: it
 * writes only while its lease runs, the time its lock is known to stay its own. The guard reads
 * the lock and its time to live in one round trip, noting the monotonic clock just before it
 * asked; the lease ends at that instant + the time to live − a margin, so it always ends before
 * the lock can lapse in Redis and another worker can take the job.
 *
 * The watch renews it in the background at half its remaining time, so a worker waiting for room
 * does not lose a lease it still holds, and at its end (or when the lock is seen to be another's)
 * calls `onLost` once: the apply resets its socket (RST: the kernel sends nothing more of it) and
 * writes nothing more. Its connection asks `gate` before each write too, because after a pause
 * the replies that wake a worker can be handled before any timer runs.
 */
import { LeaseExpiredError } from '../errors.js';

/** The orchestrator's lock (without a lease: asked before each batch), and the lease it grants. */
export interface OwnershipGuard {
  stillOwner(): boolean | Promise<boolean>;
  /** performance.now() at which this worker's lease ends, as of its last stillOwner(); absent: no lease. */
  leaseUntil?(): number;
}

export class LeaseWatch {
  readonly #guard: OwnershipGuard & { leaseUntil(): number };
  readonly #what: string;
  readonly #onLost: (err: Error) => void;
  /** The next background renewal, at half the lease left. */
  #timer: NodeJS.Timeout | null = null;
  /** The lease's end: the gate is closed there even if no write asks (a renewal that hangs). */
  #end: NodeJS.Timeout | null = null;
  #lost: Error | null = null;
  #stopped = false;

  /** `what` names the work for messages (`apply F on NODE`). */
  constructor(guard: OwnershipGuard & { leaseUntil(): number }, what: string, onLost: (err: Error) => void) {
    this.#guard = guard;
    this.#what = what;
    this.#onLost = onLost;
  }

  /** Why writes must stop, once they must; null while the lease runs. */
  get lost(): Error | null {
    return this.#lost;
  }

  /** The connection's write gate: null while the lease runs. */
  readonly gate = (): Error | null => {
    if (this.#lost === null && performance.now() >= this.#guard.leaseUntil()) {
      this.#lose(`${this.#what}: this worker's lease ran out (its lock was last confirmed too long ago; paused, or cut off from Redis?): it writes nothing more`);
    }
    return this.#lost;
  };

  /** Reads the lock (one Redis round trip); false once it is lost. */
  async renew(): Promise<boolean> {
    if (this.#lost !== null) return false;
    const mine = await this.#guard.stillOwner();
    if (!mine) this.#lose(`${this.#what}: this worker's lock on the job is gone or another's: it writes nothing more`);
    else if (this.gate() === null) this.#arm();
    return this.#lost === null;
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  #clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#end !== null) clearTimeout(this.#end);
    this.#timer = this.#end = null;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#clear();
    const left = this.#guard.leaseUntil() - performance.now();
    this.#end = setTimeout(this.gate, Math.max(0, Math.ceil(left)) + 1);
    // At least 10 ms: a lease about to end is not renewed in a tight loop (the gate still closes on time).
    this.#timer = setTimeout(this.#tick, Math.max(10, Math.floor(left / 2)));
  }

  readonly #tick = (): void => {
    this.#timer = null;
    if (this.#stopped || this.gate() !== null) return;
    // A failed read (Redis away) renews nothing: the lease then runs out and the gate closes.
    this.renew().catch(() => this.#arm());
  };

  #lose(message: string): void {
    if (this.#lost !== null) return;
    this.#lost = new LeaseExpiredError(message);
    this.stop();
    this.#onLost(this.#lost);
  }
}
