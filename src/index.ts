/**
 * Library entry: the public API, named once per module it comes from, and nothing else. `load()`
 * (pipeline/load.ts) never prints and never exits: it resolves to a report, and the caller (the
 * CLI, or your own service) decides what to say and how to end.
 */
export { load } from './pipeline/load.js';
export { resolveOptions, DEFAULTS, DEFAULT_SERVERS, parseServerAddress, type RunOptions, type OptionInput } from './config/options.js';
export { DEVICE_TYPES, type DeviceType, type ServerAddress } from './config/servers.js';
export type { LoadHooks } from './pipeline/loader.js';
export type { RunReport, RunTotals } from './report/run-report.js';
export type { Lag, LagFile } from './report/lag.js';
export type { FileReport, FileOutcome } from './report/file-report.js';
export type { Logger, LogLevel, LogFields } from './report/logger.js';
export { REJECT_REASONS, type RejectReason } from './record/reasons.js';
export * from './errors.js';
