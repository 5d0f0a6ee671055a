/**
 * Per-node figures of a run: one row per memcached node (a lane), in lane order, so that an
 * operator sees which node of a pool is slow, failing or evicting. Batches are counted as they
 * settle; evictions come from the files' reports, which charge them per server as files settle.
 */
import type { BatchSettled } from '../memcached/router.js';
import type { FileReport } from './file-report.js';

export interface NodeFigures {
  /** `host:port` as written. */
  readonly server: string;
  /** The device types whose pool it is in (usually one). */
  readonly types: readonly string[];
  /** Records routed to it. */
  readonly records: number;
  /** Records it acknowledged. */
  readonly loaded: number;
  readonly failedWrites: number;
  /** Rise of its `evictions` counter while the run's files settled. */
  readonly evictions: number;
  readonly storeNoMemory: number;
  /** Batches (one `mn` fence each) sent to it that have an outcome. */
  readonly batches: number;
  /** From write to `MN`, over its acknowledged batches; null when none was. */
  readonly batchLatencySeconds: { readonly mean: number; readonly max: number } | null;
}

interface Row {
  types: string[];
  records: number;
  loaded: number;
  failedWrites: number;
  batches: number;
  acked: number;
  latencySum: number;
  latencyMax: number;
}

export class NodeTally {
  readonly #rows = new Map<string, Row>();

  /** `lanes`: each lane's node and device type, in lane order. */
  constructor(lanes: readonly { readonly server: string; readonly type: string }[]) {
    for (const { server, type } of lanes) {
      const row = this.#rows.get(server);
      if (row === undefined) this.#rows.set(server, { types: [type], records: 0, loaded: 0, failedWrites: 0, batches: 0, acked: 0, latencySum: 0, latencyMax: 0 });
      else if (!row.types.includes(type)) row.types.push(type);
    }
  }

  batchSettled(s: BatchSettled): void {
    const row = this.#rows.get(s.server);
    if (row === undefined) return;
    row.batches++;
    row.records += s.records;
    row.loaded += s.loaded;
    row.failedWrites += s.failed;
    if (s.latencySeconds !== null) {
      row.acked++;
      row.latencySum += s.latencySeconds;
      row.latencyMax = Math.max(row.latencyMax, s.latencySeconds);
    }
  }

  /** The rows, with the evictions the files' reports charged to each node. */
  figures(files: readonly FileReport[]): NodeFigures[] {
    return [...this.#rows].map(([server, r]) => ({
      server,
      types: [...r.types],
      records: r.records,
      loaded: r.loaded,
      failedWrites: r.failedWrites,
      evictions: files.reduce((n, f) => n + (f.evictions[server] ?? 0), 0),
      storeNoMemory: files.reduce((n, f) => n + (f.storeNoMemory[server] ?? 0), 0),
      batches: r.batches,
      batchLatencySeconds: r.acked === 0 ? null : { mean: r.latencySum / r.acked, max: r.latencyMax },
    }));
  }
}
