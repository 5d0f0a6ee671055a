/**
 * The per-node table printed under the summary when a device type has a pool: which node of it
 * took how many records, lost any, evicted, and how long its batches waited for their `MN`.
 */
import type { RunReport } from './run-report.js';

export function renderNodes(report: RunReport): string {
  const head = ['node', 'types', 'records', 'loaded', 'failed writes', 'evictions', 'batches', 'latency mean', 'latency max'];
  const ms = (s: number) => `${(s * 1000).toFixed(1)}ms`;
  const rows = report.nodes.map((n) => [
    n.server,
    n.types.join(','),
    String(n.records),
    String(n.loaded),
    String(n.failedWrites),
    String(n.evictions + n.storeNoMemory),
    String(n.batches),
    n.batchLatencySeconds === null ? '-' : ms(n.batchLatencySeconds.mean),
    n.batchLatencySeconds === null ? '-' : ms(n.batchLatencySeconds.max),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd();
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n') + '\n';
}
