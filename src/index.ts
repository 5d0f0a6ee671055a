/**
 * Library entry. `load()` never prints and never exits: it resolves to a report, and the caller
 * (the CLI, or your own service) decides what to say and how to end.
 */
import { resolveOptions, type OptionInput, type RunOptions } from './config/options.js';
import { withLag } from './logfile/lag.js';
import { Loader, type LoadHooks } from './pipeline/loader.js';
import { withFolderLock } from './pipeline/run-lock.js';
import type { RunReport } from './report/run-report.js';

export async function load(options: OptionInput | RunOptions = {}, hooks: LoadHooks = {}): Promise<RunReport> {
  const opts = resolveOptions(options as OptionInput);
  return withLag(await withFolderLock(opts, hooks, () => new Loader(opts, hooks).run()), opts);
}

export { resolveOptions, DEFAULTS, DEFAULT_SERVERS, parseServerAddress } from './config/options.js';
export type { RunOptions, OptionInput } from './config/options.js';
export { DEVICE_TYPES } from './config/servers.js';
export type { DeviceType, ServerAddress } from './config/servers.js';
export type { LoadHooks } from './pipeline/loader.js';
export type { RunReport, RunTotals } from './report/run-report.js';
export type { Lag, LagFile } from './report/lag.js';
export type { FileReport, FileOutcome } from './report/file-report.js';
export type { Logger, LogLevel, LogFields } from './report/logger.js';
export { REJECT_REASONS } from './record/reasons.js';
export type { RejectReason } from './record/reasons.js';
export * from './errors.js';
