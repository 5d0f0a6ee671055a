/**
 * `memc-load worker`: runs until SIGTERM or SIGINT, then stops taking jobs and finishes (or hands
 * back) the ones it has; a second signal exits at once, and other workers take its jobs over
 * once their locks lapse (--lock-duration).
 */
import type { Server } from 'node:http';
import type { Queues } from '../queue/queues.js';
import { watchRedis } from '../queue/redis.js';
import { WorkerHost } from '../queue/worker-host.js';
import type { ClusterCommand } from './cluster-args.js';
import type { ClosableLogger } from './text-logger.js';

export async function runWorker(queues: Queues, c: Extract<ClusterCommand, { kind: 'worker' }>, logger: ClosableLogger): Promise<number> {
  let metricsServer: Server | undefined;
  let metrics: import('../queue/metrics.js').WorkerMetrics | undefined;
  if (c.metricsPort !== null) {
    const [{ WorkerMetrics }, { startMetricsServer }] = await Promise.all([import('../queue/metrics.js'), import('../metrics/server.js')]);
    metrics = new WorkerMetrics(queues.redis);
    metricsServer = await startMetricsServer(metrics, c.metricsPort, c.metricsHost, c.lockMs);
    logger.log('info', `Metrics on http://${c.metricsHost}:${c.metricsPort}/metrics and /healthz`);
  }
  // The lost connection is logged by WorkerHost (once per reason, at E); its return is said
  // here, as the loader says "memcached … answers now".
  const unwatch = watchRedis(queues.redis, c.redis.url, logger, null, (up) => metrics?.redis(up));
  const host = new WorkerHost(queues, { concurrency: c.concurrency, lockMs: c.lockMs, handOff: !c.spoolEveryLane }, {
    log: (level, message, fields) => logger.log(level, message, fields),
    job: (queue, outcome, ms) => metrics?.job(queue, outcome, ms),
    applied: (figures) => metrics?.applied(figures),
    queue: (name) => metrics?.queue(name),
  });
  let signalled: NodeJS.Signals | null = null;
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => (stopped = resolve));
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled !== null) {
      logger.log('error', `${sig} again: exiting now; this worker's jobs go to other workers once their locks lapse`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    signalled = sig;
    metrics?.stopping();
    logger.log('warn', `${sig}: taking no more jobs; finishing or handing back the running ones (again to exit at once)`);
    stopped();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await host.start();
    logger.log('info', `memc-load worker ${process.pid} started: redis=${c.redis.url} concurrency=${c.concurrency} lock=${c.lockMs}ms queues=${host.queueNames.join(',')}`);
    await stop;
    await host.stop();
    logger.log('info', 'worker stopped: every job it held is finished or back in its queue');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    unwatch();
    metricsServer?.close();
    metrics?.close();
  }
}
