/**
 * The backpressure wait, the one copy: a producer waits until a condition holds (a lane has room,
 * the encoders hold fewer chunks than their bound, the run has settled), and whatever may have
 * made it hold calls `wake()`. The loader's session, the cluster's split and its apply all wait
 * this way; the condition is re-checked after every wake, so a wake too many costs one check and
 * a wake that comes before the wait is not lost (the condition already holds).
 */
export class RoomWait {
  #waiters: (() => void)[] = [];

  /** Resolves once `ready()` is true: at once, or after a `wake()` that finds it so. */
  async until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Something a waiter may be waiting for changed: every waiter checks its condition again. */
  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
