// /metrics of a clustered web server: any process may be asked, so it asks the
// primary, which gathers every process's registry (prom-client's
// AggregatorRegistry, over the cluster's IPC channel) and answers with the sum.
// Counters and histograms add up; gauges such as ripple_sse_open_streams are
// summed across processes too.
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { getRegistry } from '../lib/metrics';

type Reply = { type: 'ripple:metrics'; id: number; body?: string; contentType?: string; error?: string };

/** In each web process: answer the primary's requests with this process's registry. */
export function answerMetricsRequests(): void {
  // Constructing one installs prom-client's IPC listener in this worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([getRegistry()]);
}

const waiting = new Map<number, (reply: Reply) => void>();
let nextId = 1;

/** In a web process: the aggregated metrics of every process, from the primary. */
export function askPrimaryForMetrics(): Promise<{ body: string; contentType: string }> {
  if (waiting.size === 0) process.on('message', onReply);
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done({ type: 'ripple:metrics', id, error: 'the launcher did not answer within 6 s' }), 6_000);
    const done = (reply: Reply) => {
      clearTimeout(timer);
      waiting.delete(id);
      if (waiting.size === 0) process.off('message', onReply);
      if (reply.error !== undefined || reply.body === undefined) reject(new Error(reply.error ?? 'no metrics'));
      else resolve({ body: reply.body, contentType: reply.contentType ?? AggregatorRegistry.PROMETHEUS_CONTENT_TYPE });
    };
    waiting.set(id, done);
    process.send!({ type: 'ripple:metrics', id });
  });
}

function onReply(message: Reply): void {
  if (message?.type === 'ripple:metrics') waiting.get(message.id)?.(message);
}

/** In the primary: serve the processes' requests for the aggregate. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: Reply) => {
    if (message?.type !== 'ripple:metrics' || message.body !== undefined) return;
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: 'ripple:metrics', id: message.id, body, contentType: aggregator.contentType }),
      (error: Error) => worker.send({ type: 'ripple:metrics', id: message.id, error: error.message }),
    );
  });
}
