import { createServer, type Server } from 'node:http';
import { ConfigError } from '../errors.js';
import type { LoaderMetrics } from './metrics.js';

/**
 * GET /metrics (Prometheus text format) and GET /healthz (200 ok; 503 while a server has been
 * unreachable for longer than graceMs, with the servers named in the body).
 */
export async function startMetricsServer(metrics: Pick<LoaderMetrics, 'registry' | 'unhealthy'>, port: number, host: string, graceMs: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === '/healthz') {
      const down = metrics.unhealthy(graceMs);
      if (down.length === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end(`unreachable: ${down.join(', ')}\n`);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new ConfigError(`--metrics-port: cannot listen on ${host}:${port} (${err.message})`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return server;
}
