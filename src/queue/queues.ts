/**
 * BullMQ's Queue objects of one process, opened once each on the command's Redis connection.
 * Queue objects only add and read jobs; the Workers that run them are in worker-host.ts.
 */
import type { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullmq } from './cjs.js';
import { PREFIX } from './names.js';

export class Queues {
  readonly redis: Redis;
  readonly #open = new Map<string, Queue>();
  #flow: FlowProducer | null = null;

  constructor(redis: Redis) {
    this.redis = redis;
  }

  get(name: string): Queue {
    let q = this.#open.get(name);
    if (q === undefined) {
      q = new bullmq.Queue(name, { connection: this.redis, prefix: PREFIX });
      // Queue objects re-emit their connection's errors; connectRedis already listens for them.
      q.on('error', () => {});
      this.#open.set(name, q);
    }
    return q;
  }

  get flow(): FlowProducer {
    if (this.#flow === null) {
      this.#flow = new bullmq.FlowProducer({ connection: this.redis, prefix: PREFIX });
      this.#flow.on('error', () => {});
    }
    return this.#flow;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#open.values()].map((q) => q.close()));
    await this.#flow?.close();
  }
}
