/**
 * `memc-load where KEY`: the node a key goes to, worked out by the same placement the encoders
 * use, so an operator can hold it against what the readers' clients say for the same key.
 */
import type { RunOptions } from '../config/options.js';
import { DEVICE_TYPES } from '../config/servers.js';
import { InvalidArgumentError } from '../errors.js';
import { isValidKey } from '../record/key.js';
import { laneNodes } from './lanes.js';
import { Placement } from './placement.js';

/** The `host:port` of the node that `key` (`dev_type:dev_id`, as stored) goes to. */
export function nodeForKey(key: string, options: Pick<RunOptions, 'servers' | 'distribution'>): string {
  const bytes = Buffer.from(key, 'utf8');
  const type = DEVICE_TYPES.find((t) => key.startsWith(`${t}:`));
  if (type === undefined) {
    throw new InvalidArgumentError(`where: "${key}" is not a key memc-load stores: it starts with ${DEVICE_TYPES.map((t) => `${t}:`).join(', ')}`);
  }
  if (!isValidKey(bytes)) throw new InvalidArgumentError(`where: "${key}" is not a memcached key (1..250 bytes, no space or control byte)`);
  const nodes = laneNodes(options.servers[type]);
  return (nodes[new Placement(nodes, options.distribution).nodeOf(bytes)] ?? nodes[0])!.label;
}
