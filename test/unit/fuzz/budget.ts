/**
 * Settings for the fuzz runs: many more cases than the property tests next to the code, bounded
 * by time so CI stays fast. Fuzz longer locally, or replay a failure:
 *
 *   MEMC_FUZZ_MS=60000 node --test dist/test/unit/fuzz/
 *   MEMC_FUZZ_SEED=<seed from the failure> node --test dist/test/unit/fuzz/
 */
import fc, { type Parameters } from 'fast-check';

const ms = Number(process.env['MEMC_FUZZ_MS'] ?? 2000);
const seed = process.env['MEMC_FUZZ_SEED'];

/** fast-check parameters: up to a million runs, interrupted after the time budget (not a failure). */
export function fuzzParams<T>(extra: Parameters<T> = {}): Parameters<T> {
  return {
    numRuns: 1_000_000,
    interruptAfterTimeLimit: Number.isFinite(ms) && ms > 0 ? ms : 2000,
    markInterruptAsFailure: false,
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...extra,
  };
}

/**
 * Runs a property under the fuzz budget; fails with fast-check's report (seed and shrunk
 * counterexample) and logs how many cases ran, which must not be trivially few.
 */
export function fuzz<T>(t: { diagnostic(message: string): void }, property: fc.IProperty<T>, extra: Parameters<T> = {}): void {
  const started = performance.now();
  const details = fc.check(property, fuzzParams(extra));
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? 'property failed');
  t.diagnostic(`${details.numRuns} cases in ${Math.round(performance.now() - started)} ms (seed ${details.seed})`);
  if (details.numRuns < 20) throw new Error(`only ${details.numRuns} cases ran: the machine is too slow or the budget too small`);
}
