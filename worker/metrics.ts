import http from 'node:http';
import { Counter, Gauge, Histogram } from 'prom-client';
import { LATENCY_BUCKETS_S, metric, metricsText } from '../lib/metrics';
import { logger } from '../lib/logger';

// The worker's Prometheus series. Created on first use so that importing this
// module in a test costs nothing.
export const workerMetrics = {
  received: () =>
    metric('ripple_worker_notifications_total', (registers) =>
      new Counter({ name: 'ripple_worker_notifications_total', help: 'Changes received from PostgreSQL: NOTIFYs, or rows from the replication slot', registers }),
    ),
  applied: () =>
    metric('ripple_worker_cache_writes_applied_total', (registers) =>
      new Counter({ name: 'ripple_worker_cache_writes_applied_total', help: 'Cache writes that passed the version gate (live and resync)', labelNames: ['source'], registers }),
    ),
  batchSize: () =>
    metric('ripple_worker_batch_size', (registers) =>
      new Histogram({ name: 'ripple_worker_batch_size', help: 'Changes written to Redis per pipelined batch', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000], registers }),
    ),
  commitToCache: () =>
    metric('ripple_worker_commit_to_cache_seconds', (registers) =>
      new Histogram({
        name: 'ripple_worker_commit_to_cache_seconds',
        help: "From the row's updatedAt (database clock) to its cache write returning; assumes one clock",
        buckets: LATENCY_BUCKETS_S,
        registers,
      }),
    ),
  resyncSeconds: () =>
    metric('ripple_worker_resync_duration_seconds', (registers) =>
      new Histogram({ name: 'ripple_worker_resync_duration_seconds', help: 'Time to copy every profile into the cache', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300], registers }),
    ),
  listening: () =>
    metric('ripple_worker_listening', (registers) =>
      new Gauge({ name: 'ripple_worker_listening', help: '1 while the change source (LISTEN or the replication slot) is up and the cache follows it', registers }),
    ),
  slotLagBytes: () =>
    metric('ripple_worker_slot_lag_bytes', (registers) =>
      new Gauge({ name: 'ripple_worker_slot_lag_bytes', help: "CHANGE_SOURCE=logical: WAL written since the replication slot's confirmed position", registers }),
    ),
  slotLagSeconds: () =>
    metric('ripple_worker_slot_lag_seconds', (registers) =>
      new Gauge({ name: 'ripple_worker_slot_lag_seconds', help: 'CHANGE_SOURCE=logical: age of the oldest commit received from the slot and not yet in Redis (0 when caught up)', registers }),
    ),
  queueUsage: () =>
    metric('ripple_worker_notification_queue_usage', (registers) =>
      new Gauge({ name: 'ripple_worker_notification_queue_usage', help: 'pg_notification_queue_usage(): share of the NOTIFY queue in use (0..1)', registers }),
    ),
};

/**
 * Serves GET /metrics on the port, or does nothing for port 0. A busy port is
 * not fatal: several workers on one machine are normal, and the first one
 * keeps the port. Resolves with the port it listens on, or null.
 */
export function serveMetrics(port: number, host: string): Promise<{ port: number | null; close: () => Promise<void> }> {
  // Every series exists from the first scrape, at zero, not only after its first event.
  for (const create of Object.values(workerMetrics)) create();
  if (port === 0) return Promise.resolve({ port: null, close: async () => undefined });
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('Only GET /metrics lives here.\n');
      return;
    }
    metricsText().then(
      ({ body, contentType }) => response.writeHead(200, { 'Content-Type': contentType }).end(body),
      (error: Error) => response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is taken (probably by another worker)' : `cannot be used (${error.message})`;
      logger.warn({ port, host }, `worker: metrics port ${host}:${port} ${why}; carrying on without /metrics. Set WORKER_METRICS_PORT to a free port, or 0 to turn it off`);
      resolve({ port: null, close: async () => undefined });
    });
    server.listen(port, host, () => {
      logger.info({ port, host }, `worker: metrics at http://${host}:${port}/metrics`);
      resolve({ port, close });
    });
  });
}
