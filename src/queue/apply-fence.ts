/**
 * The takeover fence's Redis side (docs/protocol.md "The takeover fence"): an apply job's lease
 * on its lock, and the record of the connections applies opened on each node.
 *
 * - `leaseGuard`: reads the job's lock and its time to live in one round trip (GET + PTTL), noting
 *   performance.now() just before it asks. The lease ends at that instant + PTTL − a margin: the
 *   lock cannot lapse in Redis (and the job cannot be taken over) before that, whatever the time
 *   the reply took to come back.
 * - `nodeFence`: hash `memc-load:fence:<node>`, one field per socket an apply opened there
 *   (`<job id>#<lock token>#<n>`), holding the socket as memcached lists it, the node's pid and
 *   uptime when it was read, and who opened it. A socket is recorded before its first set, and
 *   only while the job's lock is still this worker's (one Lua script: GET the lock, HSET), so a
 *   holder that lost its job can no longer add a socket that a new holder would not know about.
 *   The next apply on the node (the job's new holder, or the next file's) reads the record and
 *   writes nothing until the node lists none of those sockets; fields of a node that restarted
 *   since are dropped (its connections died with it). Fields are removed once the node no longer
 *   lists them, or by their own apply when it ended with every write acknowledged and its
 *   socket closed cleanly.
 */
import type { Redis } from 'ioredis';
import { hostname } from 'node:os';
import type { NodeFence, NodeIdentity, OwnershipGuard } from '../cluster/stages.js';
import { LeaseExpiredError } from '../errors.js';
import type { ConnIdentity } from '../memcached/handshake.js';
import { restarted } from '../memcached/eviction-watch.js';
import { PREFIX } from './names.js';

/** The lease ends this long before the lock's time to live: at least 50 ms, a fifth of the TTL read. */
export function leaseMargin(pttlMs: number): number {
  return Math.max(50, pttlMs / 5);
}

export function leaseGuard(redis: Redis, lockKey: string, token: string | undefined): Required<OwnershipGuard> {
  let until = -Infinity;
  return {
    async stillOwner() {
      if (token === undefined) return false;
      const asked = performance.now();
      const [[getErr, value] = [], [ttlErr, pttl] = []] = (await redis.pipeline().get(lockKey).pttl(lockKey).exec()) ?? [];
      if (getErr || ttlErr) throw getErr ?? ttlErr;
      const ttl = Number(pttl);
      if (value !== token || !(ttl > 0)) return false;
      until = Math.max(until, asked + ttl - leaseMargin(ttl));
      return true;
    },
    leaseUntil: () => until,
  };
}

export const fenceKey = (lane: string) => `${PREFIX}:fence:${lane}`;

interface FenceRecord {
  readonly owner: string;
  /** Null when the apply could not read it: then no later reading can drop it as a restart's. */
  readonly node: NodeIdentity | null;
  readonly conn: ConnIdentity | null;
}

/** HSET only while the lock is this worker's: 1, or 0 when it is gone or another's. */
const RECORD_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) return 1 end return 0`;

export function nodeFence(redis: Redis, lane: string, job: { readonly id: string; readonly lockKey: string; readonly token: string | undefined; readonly what: string }): NodeFence {
  const key = fenceKey(lane);
  const owner = `${job.what} (worker pid ${process.pid} on ${hostname()})`;
  const mine: string[] = [];
  let earlierFields: string[] = [];
  return {
    async earlier(node) {
      const all = await redis.hgetall(key);
      const out: (ConnIdentity | null)[] = [];
      const dead: string[] = [];
      for (const [field, text] of Object.entries(all)) {
        const rec = parse(text);
        const reading = (n: NodeIdentity) => ({ ...n, evictions: 0, storeNoMemory: 0 });
        if (rec === null || (rec.node !== null && node !== null && restarted(reading(rec.node), reading(node), undefined) !== null)) dead.push(field);
        else {
          earlierFields.push(field);
          out.push(rec.conn === null ? null : { ...rec.conn, owner: rec.owner });
        }
      }
      if (dead.length > 0) await redis.hdel(key, ...dead);
      return out;
    },
    async record(self, node) {
      const field = `${job.id}#${job.token ?? ''}#${mine.length}`;
      const rec: FenceRecord = { owner, node, conn: self === null ? null : { fd: self.fd, addr: self.addr } };
      const ok = await redis.eval(RECORD_IF_OWNER, 2, job.lockKey, key, job.token ?? '', field, JSON.stringify(rec));
      if (ok !== 1) throw new LeaseExpiredError(`${job.what}: the job's lock is no longer this worker's: its new socket to ${lane} is not used`, { server: lane });
      mine.push(field);
    },
    async passed() {
      const fields = earlierFields;
      earlierFields = [];
      if (fields.length > 0) await redis.hdel(key, ...fields);
    },
    async release() {
      if (mine.length > 0) await redis.hdel(key, ...mine.splice(0));
    },
  };
}

function parse(text: string): FenceRecord | null {
  try {
    const r = JSON.parse(text) as FenceRecord;
    const nodeOk = r.node === null || (typeof r.node?.pid === 'string' && typeof r.node.uptime === 'number' && typeof r.node.at === 'number');
    return nodeOk && typeof r.owner === 'string' ? r : null;
  } catch {
    return null;
  }
}
