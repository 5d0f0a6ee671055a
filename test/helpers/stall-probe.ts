/**
 * How late this process's timers come: the scheduling slack a timing bound must allow for on a
 * loaded machine, measured while the test runs rather than guessed.
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
