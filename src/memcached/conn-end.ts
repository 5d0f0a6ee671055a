/**
 * How a connection's work ends: the terminal error (gone, closed or destroyed) that every later
 * send() settles with, and the close() waiters. Later sends settle asynchronously, like a stream's
 * write callback, and in order.
 */
export class Ending {
  /** Set once gone, closed or destroyed; null while the connection takes work. */
  error: Error | null = null;
  /** close() was called: the socket ends once everything queued has its outcome. */
  closing = false;
  #waiters: (() => void)[] = [];
  #scheduled = false;

  /** close()'s promise. */
  wait(): Promise<void> {
    this.closing = true;
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  resolve(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Runs `settle` with the terminal error on the next turn, once however often it is asked. */
  later(settle: (error: Error) => void): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      settle(this.error as Error);
    });
  }
}
