/**
 * Lanes: one per memcached node, the device types' pools laid end to end in DEVICE_TYPES order.
 * The encode stage writes each record's frame into its node's lane, the route stage gives each
 * lane its own connection. A type with one server has one lane, and its frames are written as
 * they always were; only a pool of two or more nodes is split by key (split.ts).
 */
import type { ServerAddress, ServerPool } from '../config/servers.js';
import { Placement, type Distribution } from './placement.js';

/** One node as the encoders need it: plain data, posted to the worker threads. */
export interface LaneNode {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** `host:port` as written: the lane's name in the log, the report and the metrics. */
  readonly label: string;
}

export interface LaneLayout {
  /** Per device type: the index of its first lane. */
  readonly base: readonly number[];
  /** Per device type: its placement, or null for a single server (no key is hashed). */
  readonly placements: readonly (Placement | null)[];
  /** Per lane: its node's label. */
  readonly labels: readonly string[];
  readonly lanes: number;
}

export function laneNodes(pool: ServerPool): LaneNode[] {
  return pool.nodes.map((n) => ({ host: n.host, port: n.port, weight: n.weight ?? 1, label: n.label }));
}

/** The nodes of every pool, in lane order: what the route stage opens a connection to. */
export function laneAddresses(pools: readonly ServerPool[]): ServerAddress[] {
  return pools.flatMap((p) => p.nodes.map((n) => ({ host: n.host, port: n.port, label: n.label })));
}

export function laneLayout(pools: readonly (readonly LaneNode[])[], distribution: Distribution): LaneLayout {
  const base: number[] = [];
  const labels: string[] = [];
  for (const nodes of pools) {
    base.push(labels.length);
    for (const n of nodes) labels.push(n.label);
  }
  const placements = pools.map((nodes) => (nodes.length > 1 ? new Placement(nodes, distribution) : null));
  return { base, placements, labels, lanes: labels.length };
}
