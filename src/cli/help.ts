/**
 * The help texts: the loader's, and the short ones of `generate` and `where`. Rendered from the
 * flag tables of args.ts, so the help can never drift from what is accepted.
 */
import { GENERATE_FLAGS, RUN_FLAGS, type OptionDoc } from './args.js';

export function helpText(version: string, topic?: 'generate' | 'where'): string {
  if (topic === 'generate') {
    return `Usage: memc-load generate [--out DIR] [--files N] [--lines N] [--bad-rate R] …\n  Writes realistic sample minute-logs (YYYYMMDDhhmmss.tsv.gz), the same bytes for the same seed.\n\nOptions:\n${renderFlags(GENERATE_FLAGS)}\n\nDocs: README.md`;
  }
  if (topic === 'where') {
    const pick = ['idfa', 'gaid', 'adid', 'dvid', 'distribution', 'config', 'help'];
    const flags = Object.fromEntries(pick.map((n) => [n, RUN_FLAGS[n] as OptionDoc]));
    return `Usage: memc-load where KEY… [--idfa HOST:PORT[,…] …] [--distribution D]\n  Prints the node (host:port) each key (e.g. idfa:1rfw452y52g2gq4g) goes to in its type's pool, as the loader and the readers place it.\n\nOptions:\n${renderFlags(flags)}\n\nDocs: docs/operations.md`;
  }
  return mainHelp(version, renderFlags);
}

function renderFlags(flags: Readonly<Record<string, OptionDoc>>): string {
  return Object.entries(flags)
    .map(([name, d]) => {
      const left = `  ${d.short ? `-${d.short}, ` : '    '}--${name}${d.arg ? ` ${d.arg}` : ''}`;
      const text = `${d.help}${d.def !== undefined ? ` (default: ${d.def})` : ''}`;
      // A flag wider than its column gets its text on the next line, so the texts stay aligned.
      return left.length < 36 ? `${left.padEnd(36)} ${text}` : `${left}\n${' '.repeat(37)}${text}`;
    })
    .join('\n');
}

function mainHelp(version: string, render: (flags: Readonly<Record<string, OptionDoc>>) => string): string {
  return `memc-load ${version}: load gzipped TSV installed-apps logs into memcached, in order

Usage:
  memc-load [options]              load every file matching --pattern, oldest first
  memc-load generate [options]     write realistic sample minute-logs
  memc-load where KEY… [--idfa …]  print the node (host:port) of each key's pool it goes to
  memc-load enqueue --redis URL …  plan the pending files as jobs for workers on many hosts (BullMQ)
  memc-load worker --redis URL     run the jobs of the plans; any number, on any hosts
  memc-load status --redis URL     files pending, in flight, done and failed, per node
  (each command has its own -h/--help; the cluster's are in docs/cluster.md)

Options:
${render(RUN_FLAGS)}

generate options:
${render(GENERATE_FLAGS)}

Exit status: 0 every file succeeded (or no file matched); 1 a file failed to load, its
error rate reached --max-error-rate, or it was left pending (late, a dangling link, a
name that is not UTF-8); 2 usage or configuration error; 75 another run or a cluster
plan is loading the folder (nothing was done: try again later); 130/143 on
SIGINT/SIGTERM, except with --watch, where a requested stop is a clean end (0, or 1 if a
file failed).
Docs: README.md and docs/ in the package.`;
}
