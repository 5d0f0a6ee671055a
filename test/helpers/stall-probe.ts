/**
 * Stalls of this process: how long its event loop went without a turn (the scheduling slack a
 * timing bound must allow for on a loaded machine, measured while the test runs rather than
 * guessed), and a stall made on purpose, for the tests of what a stall must not break.
 */

/**
 * Starts a probe; the function it returns stops it and tells the longest this process's event
 * loop went without a turn meanwhile (ms).
 */
export function stallProbe(): () => number {
  let last = performance.now();
  let worst = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 2);
  return () => {
    clearInterval(tick);
    return Math.max(worst, performance.now() - last);
  };
}

/**
 * Stalls this process's event loop for `ms` on purpose, as a loaded machine or a long synchronous
 * task does; returns performance.now() when it ended.
 */
export function stall(ms: number): number {
  const until = performance.now() + ms;
  while (performance.now() < until);
  return performance.now();
}
