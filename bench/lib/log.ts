/**
 * The benchmark's progress log: stderr, stamped with seconds since the benchmark started (the
 * tables go to stdout, so `npm run bench > out.txt` keeps them apart).
 */
const started = performance.now();

/** Seconds since the benchmark started. */
export function elapsedS(): number {
  return (performance.now() - started) / 1000;
}

export function log(msg: string): void {
  const t = elapsedS().toFixed(1).padStart(6);
  process.stderr.write(`[bench ${t}s] ${msg}\n`);
}

/** How a run's check ended, for its log line. */
export function checkText(problems: readonly string[]): string {
  return problems.length ? `FAILED: ${problems.join('; ')}` : 'check ok';
}

/** ` (run 2/3)` when the configuration runs more than once. */
export function runLabel(i: number, runs: number): string {
  return runs > 1 ? ` (run ${i + 1}/${runs})` : '';
}
