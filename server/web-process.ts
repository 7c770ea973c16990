// One web process: Next's request handler behind Ripple's edge (server/edge.ts),
// on a node:http server whose timeouts and connection ceiling bound what a slow
// or hostile client can hold. In a cluster, every process listens on the same
// port (the primary hands out connections); alone, it is the whole web server.
import cluster from 'node:cluster';
import http from 'node:http';
import path from 'node:path';
import next from 'next';
import { getConfig } from '../lib/config';
import { compileTrustProxy } from '../lib/http/client-address';
import { ReadLimiter } from '../lib/http/read-limit';
import { getSite } from '../lib/http/site';
import { logger } from '../lib/logger';
import { onStopSignals } from '../lib/stop-signals';
import { metricsText } from '../lib/metrics';
import { getRedis } from '../lib/redis';
import { stopServingStreams } from '../lib/shutdown';
import { askPrimaryForMetrics, answerMetricsRequests } from './cluster-metrics';
import { createEdge } from './edge';

const root = path.resolve(import.meta.dirname, '..');

export async function runWebProcess({ dev }: { dev: boolean }): Promise<void> {
  const config = getConfig();
  const clustered = cluster.isWorker;
  let stopping = false;

  const server = http.createServer({
    headersTimeout: config.HEADERS_TIMEOUT_MS,
    // The whole request, body included: Node's default is 300 s.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    // How often Node looks for connections past those deadlines (default 30 s).
    connectionsCheckingInterval: Math.min(1_000, config.HEADERS_TIMEOUT_MS),
  });
  server.maxConnections = config.MAX_CONNECTIONS;

  const app = next({ dev, dir: root, hostname: config.HOST, port: config.PORT, httpServer: server, quiet: true });
  await app.prepare();
  const nextHandler = app.getRequestHandler();

  if (clustered) answerMetricsRequests();
  const edge = createEdge({
    config,
    site: getSite(config),
    trust: compileTrustProxy(config.TRUST_PROXY),
    readLimiter: new ReadLimiter(getRedis, config.REDIS_PREFIX, config.READ_RATE_LIMIT_PER_SECOND),
    metrics: clustered ? askPrimaryForMetrics : metricsText,
    next: (request, response) => nextHandler(request, response),
    stopping: () => stopping,
  });
  server.on('request', edge.handle);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (!clustered) logger.info(`web: listening on http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT} (one process)`);

  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    // No new connections; idle keep-alive ones close now, busy ones after their answer.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = setTimeout(() => {
      logger.info({ streams: edge.openStreams() }, `web: exiting ${config.SHUTDOWN_GRACE_MS} ms after ${reason}; cutting off what is still connected`);
      server.closeAllConnections();
      process.exit(code);
    }, config.SHUTDOWN_GRACE_MS);
    grace.unref();
    // Ended streams leave their connections idle: keep closing those until none is left.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    await stopServingStreams(reason);
    await closed;
    clearInterval(sweep);
    process.exit(code);
  };

  onStopSignals({
    stop: (signal) => void stop(`${signal} received`, signal === 'SIGTERM' ? 143 : 130),
    force: (signal) => {
      logger.warn(`web: second ${signal}; exiting now`);
      process.exit(1);
    },
  });
  // In a cluster the primary asks over IPC, so a Ctrl-C that also reached this
  // process directly is not mistaken for a second, forcing signal.
  process.on('message', (message: { type?: string; signal?: NodeJS.Signals }) => {
    if (message?.type === 'ripple:stop') void stop(`${message.signal ?? 'SIGTERM'} received by the launcher`, message.signal === 'SIGINT' ? 130 : 143);
  });
}
