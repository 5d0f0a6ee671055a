/**
 * bullmq and ioredis, loaded with require() rather than an ESM import (issue #19 item 4).
 *
 * Both are CommonJS. An ESM import of one makes Node run its CommonJS export lexer over the
 * package's index and every file that index re-exports, to find the named exports: measured
 * here, importing bullmq took 0.48 s of CPU against 0.35 s required (Node alone 0.12), paid by
 * every `enqueue`, `status` and worker start. The same modules, the same objects: only how
 * Node finds their exports differs. Types come from the packages as before (type-only imports).
 *
 * Each of bullmq's classes is required from its own file of the package's CommonJS build, when
 * first used: `enqueue` and `status` use Queue and FlowProducer (81 of bullmq's 144 files), a
 * worker Worker and the errors. bullmq 5 has no `exports` map, so its files can be required by
 * path; the objects are those its index re-exports (one module cache). A bullmq whose layout
 * differs (a moved file, an `exports` map) is loaded whole, as before.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Bullmq = typeof import('bullmq');

function part<K extends keyof Bullmq>(file: string, name: K): Bullmq[K] {
  try {
    const found = (require(`bullmq/dist/cjs/classes/${file}`) as Partial<Bullmq>)[name];
    if (found !== undefined) return found as Bullmq[K];
  } catch {
    // Not at that path in this bullmq: the index below has it.
  }
  return (require('bullmq') as Bullmq)[name];
}

export const bullmq = {
  get Queue() {
    return part('queue.js', 'Queue');
  },
  get FlowProducer() {
    return part('flow-producer.js', 'FlowProducer');
  },
  get Worker() {
    return part('worker.js', 'Worker');
  },
  get DelayedError() {
    return part('errors/index.js', 'DelayedError');
  },
  get UnrecoverableError() {
    return part('errors/index.js', 'UnrecoverableError');
  },
  get WaitingError() {
    return part('errors/index.js', 'WaitingError');
  },
};
export const ioredis = require('ioredis') as typeof import('ioredis');
