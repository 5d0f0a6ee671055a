/**
 * The bench's cluster rows (issue #14, issue #19 item 4): one per count of `CLUSTER_WORKERS`
 * (default 1,2). Which of them the headline's "cluster ÷ single host" ratio judges: the row of
 * one worker process, the production shape on one host (docs/cluster.md: one process per host,
 * splitting on its host's cores). The others are informational: several worker processes on one
 * host share its cores, each paying its own start-up and JIT, which a deployment does not.
 */
import type { Row } from './report.js';

/** Worker processes of the row the headline judges. */
export const JUDGED_CLUSTER_WORKERS = 1;

export function clusterRowName(workers: number): string {
  return `memc-load cluster: enqueue + ${workers} worker${workers === 1 ? '' : 's'}, 1 host`;
}

/** A cluster row's worker processes, read back from its name; null for any other row. */
export function clusterWorkersOf(row: Pick<Row, 'name'>): number | null {
  const m = /^memc-load cluster: enqueue \+ (\d+) workers?, 1 host$/.exec(row.name);
  return m ? Number(m[1]) : null;
}

/** The cluster part of the headline, or null when no cluster row has a ratio to the default row. */
export function clusterHeadline(rows: readonly Row[]): string | null {
  const cluster = rows
    .map((row) => ({ row, workers: clusterWorkersOf(row) }))
    .filter((x): x is { row: Row; workers: number } => x.workers !== null && x.row.cpuVsDefault != null)
    .sort((a, b) => a.workers - b.workers);
  if (cluster.length === 0) return null;
  const judged = cluster.find((x) => x.workers === JUDGED_CLUSTER_WORKERS);
  const ratio = (x: { row: Row }): string => `${(x.row.cpuVsDefault as number).toFixed(2)} ×`;
  const others = cluster.filter((x) => x !== judged).map((x) => `${ratio(x)} with ${x.workers} worker processes on the host (informational: more processes than a host runs, each paying its own start-up and JIT)`);
  const head = judged
    ? `the cluster on this host (\`enqueue\` + 1 worker process, the production shape: one per host) spends **${ratio(judged)} the single host's CPU** (target ≤ 1.3)`
    : `the cluster on this host spends ${cluster.map((x) => `${ratio(x)} the single host's CPU with ${x.workers} worker processes`).join(', ')} (no row of 1 worker process, the production shape: the target, ≤ 1.3 ×, is not judged)`;
  return judged && others.length > 0 ? `${head}; ${others.join('; ')}` : head;
}
