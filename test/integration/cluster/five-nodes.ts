/**
 * The cluster stages' in-process tests' layout: idfa on a pool of two, the other types on one
 * server each: five nodes, five lanes (split-apply.test.ts, hand-off.test.ts).
 */
import { resolveOptions, type RunOptions } from '../../../src/config/options.js';
import type { MemcachedHandle } from '../../helpers/memcached.js';

export function optionsFor(nodes: readonly MemcachedHandle[], extra: Partial<RunOptions> = {}): RunOptions {
  const l = nodes.map((n) => n.address.label);
  return resolveOptions({ servers: { idfa: `${l[0]},${l[1]}`, gaid: l[2], adid: l[3], dvid: l[4] }, workers: 2, batchBytes: 8192, ...extra });
}

/** Per type, the nodes that hold its keys. */
export const typeNodes = (nodes: readonly MemcachedHandle[]): MemcachedHandle[][] => [[nodes[0]!, nodes[1]!], [nodes[2]!], [nodes[3]!], [nodes[4]!]];
