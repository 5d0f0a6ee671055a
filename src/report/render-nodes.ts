/**
 * The per-node table printed under the summary when a device type has a pool: which node of it
 * took how many records, lost any, evicted, and how long its batches waited for their `MN`.
 */
import type { RunReport } from './run-report.js';
import { alignColumns, widest, wrap } from './text-layout.js';

const HEAD = ['node', 'types', 'records', 'loaded', 'failed writes', 'evictions', 'batches', 'latency mean', 'latency max'];

/** The table when it fits `columns`, else one block per node wrapped to the width (as the summary does). */
export function renderNodes(report: RunReport, columns = Number.POSITIVE_INFINITY): string {
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
  const t = alignColumns(HEAD, rows, (i) => i >= 2);
  const text = [t.head, t.rule, ...t.rows].join('\n') + '\n';
  if (widest(text) <= columns) return text;
  const width = Math.max(20, columns);
  const out = rows.flatMap(([node, types, ...figures]) => [
    ...wrap([`${node} (${types})`], width, ''),
    ...wrap(figures.map((v, i) => `${HEAD[i + 2]} ${v}`), width, '  '),
  ]);
  return `${out.join('\n')}\n`;
}
