/**
 * Lanes. A **lane** is one memcached node of the run, named by its address as written
 * (`ServerAddress.label`): the unit in which writes are ordered, in both modes. On one host a lane
 * is one connection (memcached/router.ts); in the cluster it is one segment per split file and one
 * apply queue (cluster/, queue/). A node listed for two device types is one lane.
 *
 * The encoders lay their output out by **position**: the device types' pools end to end, in
 * DEVICE_TYPES order, one position per node of each pool. A type with one server has one
 * position, and its frames are written as they always were; only a pool of two or more nodes is
 * split by key (split.ts). Positions and lanes are the same list unless a node is listed for two
 * types; `runLanes` maps the one onto the other, once, for both modes.
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

/** The encoders' layout: positions, per device type. */
export interface LaneLayout {
  /** Per device type: the index of its first position. */
  readonly base: readonly number[];
  /** Per device type: its placement, or null for a single server (no key is hashed). */
  readonly placements: readonly (Placement | null)[];
  /** Per position: its node's label. */
  readonly labels: readonly string[];
  /** How many positions. */
  readonly positions: number;
}

export function laneNodes(pool: ServerPool): LaneNode[] {
  return pool.nodes.map((n) => ({ host: n.host, port: n.port, weight: n.weight ?? 1, label: n.label }));
}

export interface RunLanes {
  /** One per node, in the order the positions first name them. */
  readonly lanes: readonly ServerAddress[];
  /** Per encoder position: its lane's index. */
  readonly laneOf: readonly number[];
}

/** The run's lanes (one per node), and the lane of each encoder position. */
export function runLanes(pools: readonly ServerPool[]): RunLanes {
  const lanes: ServerAddress[] = [];
  const positions = pools.flatMap((p) => p.nodes.map((n) => ({ host: n.host, port: n.port, label: n.label })));
  const laneOf = positions.map((a) => {
    const known = lanes.findIndex((l) => l.label === a.label);
    return known >= 0 ? known : lanes.push(a) - 1;
  });
  return { lanes, laneOf };
}

/** The run's lanes: what the route stage opens a connection to, one per node. */
export function laneAddresses(pools: readonly ServerPool[]): ServerAddress[] {
  return [...runLanes(pools).lanes];
}

export function laneLayout(pools: readonly (readonly LaneNode[])[], distribution: Distribution): LaneLayout {
  const base: number[] = [];
  const labels: string[] = [];
  for (const nodes of pools) {
    base.push(labels.length);
    for (const n of nodes) labels.push(n.label);
  }
  const placements = pools.map((nodes) => (nodes.length > 1 ? new Placement(nodes, distribution) : null));
  return { base, placements, labels, positions: labels.length };
}
