/**
 * The library's run (index.ts exports it): `load()` never prints and never exits: it resolves
 * to a report, and the caller (the CLI, or your own service) decides what to say and how to end.
 */
import { resolveOptions, type OptionInput, type RunOptions } from '../config/options.js';
import type { RunReport } from '../report/run-report.js';
import { Loader, type LoadHooks } from './loader.js';
import { lockedRun } from './run-lock.js';

export async function load(options: OptionInput | RunOptions = {}, hooks: LoadHooks = {}): Promise<RunReport> {
  const opts = resolveOptions(options as OptionInput);
  return lockedRun(opts, hooks, () => new Loader(opts, hooks).run());
}
