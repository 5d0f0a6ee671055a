/**
 * Which node of a pool a key goes to, as libmemcached 1.0.18 decides it, so that every reader
 * built on it (pylibmc, php-memcached, and the clients that copied its ketama) looks where the
 * loader wrote. Pure: no sockets, no state after construction.
 *
 * `ketama-weighted` (libmemcached's MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED; pylibmc's
 * `ketama_weighted`, php-memcached's OPT_LIBKETAMA_COMPATIBLE): each node gets
 * floor(weight / total * 40 * nodes) × 4 points on a circle of uint32. Its name for point group i
 * is `host:port-i` (`host-i` when the port is 11211; the host as written, an IPv6 one without
 * brackets), and the 16 bytes of that name's MD5 make four points. A key hashes to the first 4
 * bytes of its MD5, read little-endian, and goes to the node of the first point at or after that
 * value, wrapping round to the first point.
 *
 * `ketama` (MEMCACHED_BEHAVIOR_KETAMA, pylibmc's `ketama`): 100 points per node, each the
 * one-at-a-time hash of `host:port-i`, and keys hashed with one-at-a-time. A node added with a
 * weight over 1 quietly switches libmemcached to the weighted circle above (but keys keep the
 * one-at-a-time hash); that is what pylibmc does, so it is what this does.
 *
 * `modula`: one-at-a-time(key) mod the number of nodes.
 *
 * With one node every key goes to it, whatever the distribution (libmemcached's shortcut).
 * test/fixtures/pool-vectors.json holds placements pylibmc made; scripts/pool-vectors.py
 * remakes it.
 */
import { createHash } from 'node:crypto';
import type { Distribution } from '../config/servers.js';
import { md5Hash, oneAtATime } from './hash.js';

export { DISTRIBUTIONS, type Distribution } from '../config/servers.js';

export interface PoolNode {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}

/** libmemcached's MEMCACHED_POINTS_PER_SERVER_KETAMA and MEMCACHED_POINTS_PER_SERVER. */
const WEIGHTED_POINTS = 160;
const PLAIN_POINTS = 100;
/** The port libmemcached leaves out of a point's name. */
const DEFAULT_PORT = 11211;

export class Placement {
  readonly nodes: number;
  readonly #modula: boolean;
  readonly #md5Keys: boolean;
  /** The circle: point values ascending, and the node of each. */
  readonly #points: Uint32Array;
  readonly #owner: Uint16Array;

  constructor(nodes: readonly PoolNode[], distribution: Distribution) {
    this.nodes = nodes.length;
    this.#modula = distribution === 'modula';
    this.#md5Keys = distribution === 'ketama-weighted';
    const weighted = distribution === 'ketama-weighted' || (distribution === 'ketama' && nodes.some((n) => n.weight > 1));
    const points = this.#modula || nodes.length < 2 ? [] : weighted ? weightedCircle(nodes) : plainCircle(nodes);
    points.sort((a, b) => a[0] - b[0]);
    this.#points = Uint32Array.from(points, (p) => p[0]);
    this.#owner = Uint16Array.from(points, (p) => p[1]);
  }

  /** The index of the node `key[start..end)` goes to. */
  nodeOf(key: Uint8Array, start = 0, end = key.length): number {
    if (this.nodes < 2) return 0;
    if (this.#modula) return oneAtATime(key, start, end) % this.nodes;
    const hash = this.#md5Keys ? md5Hash(key, start, end) : oneAtATime(key, start, end);
    const points = this.#points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.#owner[hi === points.length ? 0 : hi] as number;
  }
}

function pointName(node: PoolNode, i: number): Buffer {
  const name = node.port === DEFAULT_PORT ? `${node.host}-${i}` : `${node.host}:${node.port}-${i}`;
  return Buffer.from(name, 'latin1');
}

function weightedCircle(nodes: readonly PoolNode[]): [number, number][] {
  const f = Math.fround;
  const total = nodes.reduce((sum, n) => sum + n.weight, 0);
  const out: [number, number][] = [];
  nodes.forEach((node, index) => {
    // In C's float arithmetic, as libmemcached computes it: doubles round some shares the other
    // way (weights 1,2,4,8,10 over 5 nodes: 7 groups for the first in floats, 8 in doubles).
    const pct = f(f(node.weight) / f(total));
    const share = f(f(f(pct * WEIGHTED_POINTS) / 4) * f(nodes.length));
    const groups = Math.floor(f(share + 0.0000000001));
    for (let i = 0; i < groups; i++) {
      const digest = createHash('md5').update(pointName(node, i)).digest();
      for (let k = 0; k < 4; k++) out.push([digest.readUInt32LE(4 * k), index]);
    }
  });
  return out;
}

function plainCircle(nodes: readonly PoolNode[]): [number, number][] {
  const out: [number, number][] = [];
  nodes.forEach((node, index) => {
    for (let i = 0; i < PLAIN_POINTS; i++) {
      const name = pointName(node, i);
      out.push([oneAtATime(name, 0, name.length), index]);
    }
  });
  return out;
}
