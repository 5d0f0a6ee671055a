/**
 * What `enqueue --wait` blocks on instead of polling (issue #19 item 4): the event streams
 * BullMQ writes for each queue a plan uses (`memc-load:<queue>:events`, one XADD per job event:
 * what BullMQ's QueueEvents reads), read by one XREAD BLOCK over all of them on a connection of
 * its own. One connection and one blocking command for the plan's queues, where QueueEvents
 * would hold a connection per queue (six with four nodes).
 *
 * The plan can only settle when a job leaves the in-flight set (completed, failed, removed), so
 * only those events call for a new look at the job counts; any event a worker causes also says
 * that a worker is alive. The streams are read from the Redis server's clock at open, so an
 * event that comes between the caller's first look and its first wait is not missed.
 */
import type { Redis } from 'ioredis';
import { applyQueue, COMMIT_QUEUE, PREFIX, SPLIT_QUEUE } from './names.js';

/** Events after which a job is no longer waiting, delayed or running. */
const ENDS = new Set(['completed', 'failed', 'removed']);
/**
 * Events only a worker causes (an enqueue adds; a worker takes, finishes, puts a commit or a
 * split off to its delayed set, finds its queue empty). `waiting` is both: not counted.
 */
const WORKER = new Set(['active', 'completed', 'failed', 'retries-exhausted', 'progress', 'stalled', 'delayed', 'drained']);

export interface Woken {
  /** A job of the plan's queues finished (or was removed): the plan may have settled. */
  readonly ended: boolean;
  /** A worker did something on the plan's queues: one is alive. */
  readonly worker: boolean;
}

type XreadReply = [key: string, entries: [id: string, fields: string[]][]][];

export class PlanEvents {
  readonly #conn: Redis;
  readonly #keys: readonly string[];
  readonly #ids: string[];

  private constructor(conn: Redis, keys: readonly string[], from: string) {
    this.#conn = conn;
    this.#keys = keys;
    this.#ids = keys.map(() => from);
  }

  /** Opens the streams of the split, commit and `lanes`' apply queues. Ask the plan's state after this returns, not before. */
  static async open(redis: Redis, lanes: readonly string[]): Promise<PlanEvents> {
    const keys = [SPLIT_QUEUE, COMMIT_QUEUE, ...lanes.map(applyQueue)].map((q) => `${PREFIX}:${q}:events`);
    // A stream id is the server's time in ms (or later, never earlier): every event added from
    // now on has an id above this. A few of the last millisecond's may be read again: harmless.
    const [s, us] = await redis.time();
    const from = String(Number(s) * 1000 + Math.floor(Number(us) / 1000) - 1);
    // A blocked XREAD holds its connection: the status reads go on the command's own meanwhile.
    const conn = redis.duplicate();
    // Reconnects say nothing here: the command's own connection is the one watched (watchRedis).
    conn.on('error', () => {});
    return new PlanEvents(conn, keys, from);
  }

  /**
   * Waits up to `ms` for the next events. A Redis lost meanwhile delays the answer until it is
   * back: ioredis sends the XREAD again on the new connection, from the same ids.
   */
  async next(ms: number): Promise<Woken> {
    const reply = (await this.#conn.call('XREAD', 'BLOCK', String(Math.max(1, Math.round(ms))), 'STREAMS', ...this.#keys, ...this.#ids)) as XreadReply | null;
    let ended = false;
    let worker = false;
    for (const [key, entries] of reply ?? []) {
      const i = this.#keys.indexOf(key);
      const last = entries[entries.length - 1];
      if (i < 0 || last === undefined) continue;
      this.#ids[i] = last[0];
      for (const [, fields] of entries) {
        // The fields are name, value, …; BullMQ writes `event` first, but do not rely on it.
        for (let f = 0; f + 1 < fields.length; f += 2) {
          if (fields[f] !== 'event') continue;
          const event = fields[f + 1] as string;
          ended ||= ENDS.has(event);
          worker ||= WORKER.has(event);
        }
      }
    }
    return { ended, worker };
  }

  close(): void {
    this.#conn.disconnect();
  }
}
