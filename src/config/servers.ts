/** The device types, in a fixed order: a record's pool index is its type's index here. */
export const DEVICE_TYPES = ['idfa', 'gaid', 'adid', 'dvid'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port`, as the user wrote it; used in every message about the server. */
  readonly label: string;
  /** Its share of its pool's keys, relative to the other nodes' (1 when not given). */
  readonly weight?: number;
}

/**
 * The memcached servers of one device type. A key goes to the node libmemcached's placement
 * picks for it (pool/placement.ts); one node is the plain case of one server per type.
 */
export interface ServerPool {
  readonly nodes: readonly ServerAddress[];
  /** The list as the user wrote it (`a:11211,b:11211:2`): the pool in messages and the report. */
  readonly label: string;
}

/**
 * How a pool's keys are spread over its nodes, named as the readers' clients name it; the
 * placement itself (libmemcached's arithmetic) is pool/placement.ts's. A run option, so it is
 * written here, below both the options and the pools.
 */
export const DISTRIBUTIONS = ['ketama-weighted', 'ketama', 'modula'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];
