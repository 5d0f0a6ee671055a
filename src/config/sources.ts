/**
 * Where option values come from besides the command line. Precedence, highest first:
 * flags, then environment variables, then the --config JSON file, then defaults.
 * Every source yields the flags' own shape (long flag name → string or boolean), so one parser
 * and one set of checks serve all of them.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { suggest } from './did-you-mean.js';

export type FlagValues = Record<string, string | boolean | undefined>;

/** Environment variables: MEMC_LOAD_<FLAG> with dashes as underscores, for the flags listed. */
export const ENV_FLAGS = ['idfa', 'gaid', 'adid', 'dvid', 'pattern', 'distribution'] as const;

/** The flags that take a server or a pool: in a config file, also a JSON array of nodes. */
const POOL_FLAGS: readonly string[] = ['idfa', 'gaid', 'adid', 'dvid'];

export function envName(flag: string): string {
  return `MEMC_LOAD_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export function fromEnv(env: NodeJS.ProcessEnv): FlagValues {
  const out: FlagValues = {};
  for (const flag of ENV_FLAGS) {
    const v = env[envName(flag)];
    if (v !== undefined && v !== '') out[flag] = v;
  }
  return out;
}

/**
 * A JSON object whose keys are long flag names (`"max-error-rate": 0.02`, `"dry": true`).
 * Unknown keys are errors: a typo in a config file must not be silently ignored.
 */
export function fromConfigFile(path: string, known: Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>): FlagValues {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--config ${path}: cannot be read as JSON (${(err as Error).message})`, { file: path, cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`--config ${path}: must hold a JSON object of option names to values`, { file: path });
  }
  const out: FlagValues = {};
  for (const [key, value] of Object.entries(parsed)) {
    const doc = known[key];
    if (doc === undefined || key === 'config' || key === 'help' || key === 'version') {
      const options = Object.keys(known).filter((k) => k !== 'config' && k !== 'help' && k !== 'version');
      throw new ConfigError(`--config ${path}: unknown option "${key}"${suggest(key, options, '"', '"')}`, { file: path });
    }
    if (doc.type === 'boolean') {
      if (typeof value !== 'boolean') throw new ConfigError(`--config ${path}: "${key}" must be true or false`, { file: path });
      out[key] = value;
    } else if (POOL_FLAGS.includes(key) && Array.isArray(value)) {
      if (value.length === 0 || !value.every((v) => typeof v === 'string')) {
        throw new ConfigError(`--config ${path}: "${key}" must be "host:port[:weight],…" or a non-empty array of such strings`, { file: path });
      }
      out[key] = value.join(',');
    } else {
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new ConfigError(`--config ${path}: "${key}" must be a string or a number`, { file: path });
      }
      out[key] = String(value);
    }
  }
  return out;
}

/** Later sources win; undefined never overrides. */
export function mergeSources(...sources: readonly FlagValues[]): FlagValues {
  const out: FlagValues = {};
  for (const s of sources) for (const [k, v] of Object.entries(s)) if (v !== undefined) out[k] = v;
  return out;
}
