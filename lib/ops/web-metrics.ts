import { Counter, Gauge, Histogram } from 'prom-client';
import { logger } from '../logger';
import { LATENCY_BUCKETS_S, metric, msSince } from '../metrics';
import { CountWindow, RollingWindow } from './rolling';
import { startWebAnnouncer } from './web-processes';

// The web process's own figures: Prometheus series for scrapers, and a rolling
// window for the status page. Both are fed from the same few calls below.

const requests = () =>
  metric('ripple_http_requests_total', (registers) =>
    new Counter({ name: 'ripple_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers }),
  );

const requestSeconds = () =>
  metric('ripple_http_request_duration_seconds', (registers) =>
    new Histogram({
      name: 'ripple_http_request_duration_seconds',
      help: 'Time to answer (for streams: to send the headers), by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
  );

const messages = () =>
  metric('ripple_live_messages_total', (registers) =>
    new Counter({ name: 'ripple_live_messages_total', help: 'Profile changes received from Redis (per-profile and firehose channels together): what this process hears, watched or not', registers }),
  );

const eventsSent = () =>
  metric('ripple_sse_events_sent_total', (registers) =>
    new Counter({ name: 'ripple_sse_events_sent_total', help: 'Profile events fanned out to open streams (one per stream per change)', registers }),
  );

const commitToStream = () =>
  metric('ripple_commit_to_stream_seconds', (registers) =>
    new Histogram({
      name: 'ripple_commit_to_stream_seconds',
      help: "From the row's updatedAt (database clock) to this process handing the change to its streams; assumes one clock",
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
  );

const globalForWindow = globalThis as unknown as {
  rippleStreamWindow?: RollingWindow;
  rippleWriteWindow?: CountWindow<WriteOutcome>;
  rippleOpenStreams?: () => number;
};

/** Changes this process received, with their commit→stream latency, for the status page. */
export function streamWindow(): RollingWindow {
  globalForWindow.rippleStreamWindow ??= new RollingWindow();
  return globalForWindow.rippleStreamWindow;
}

/** Changes heard so far, without starting the window (only the live hub's arrival starts it). */
export function changesHeard(): number {
  return globalForWindow.rippleStreamWindow?.total ?? 0;
}

export function openStreams(): number {
  return globalForWindow.rippleOpenStreams?.() ?? 0;
}

/** The live hub tells the gauge how to count its streams, so this module needs no import of it. */
export function countOpenStreamsWith(count: () => number): void {
  globalForWindow.rippleOpenStreams = count;
  // The hub hears changes from now on: start the window here, so a quiet start reads as zero, not as unknown.
  streamWindow();
  metric('ripple_sse_open_streams', (registers) =>
    new Gauge({ name: 'ripple_sse_open_streams', help: 'Server-Sent Event streams open in this process', registers, collect() { this.set(openStreams()); } }),
  );
}

/** The live hub tells the gauge how many Redis channels it subscribes to (they follow the streams). */
export function countChannelsWith(count: () => number): void {
  metric('ripple_live_channels', (registers) =>
    new Gauge({ name: 'ripple_live_channels', help: 'Redis pub/sub channels this process subscribes to: the epoch\'s, one per watched profile, and the firehose\'s while a stream of every profile is open', registers, collect() { this.set(count()); } }),
  );
}

export function recordChange(updatedAt: string, listeners: number): void {
  const ms = msSince(updatedAt);
  messages().inc();
  if (listeners > 0) eventsSent().inc(listeners);
  if (ms !== null) commitToStream().observe(ms / 1000);
  streamWindow().record(ms);
}

/**
 * CHANGE_SOURCE=logical: the replication slot's lag, as the workers last
 * announced it (every web process reads the same announcements, so a cluster
 * takes the largest, not the sum). No sample when no worker reads a slot.
 */
async function slotLag(): Promise<Array<{ slot: string; bytes: number | null; seconds: number | null }>> {
  const [{ getRedis }, { listWorkers }, { getConfig }] = await Promise.all([import('../redis'), import('./workers'), import('../config')]);
  const workers = await listWorkers(getRedis(), getConfig().REDIS_PREFIX).catch(() => []);
  const bySlot = new Map<string, { slot: string; bytes: number | null; seconds: number | null }>();
  for (const worker of workers) {
    if (!worker.slot) continue;
    const known = bySlot.get(worker.slot.name) ?? { slot: worker.slot.name, bytes: null, seconds: null };
    if (worker.slot.lagBytes !== null) known.bytes = Math.max(known.bytes ?? 0, worker.slot.lagBytes);
    if (worker.slot.lagMs !== null) known.seconds = Math.max(known.seconds ?? 0, worker.slot.lagMs / 1000);
    bySlot.set(worker.slot.name, known);
  }
  return [...bySlot.values()];
}

const slotLagGauges = () => {
  metric('ripple_slot_lag_bytes', (registers) =>
    new Gauge({
      name: 'ripple_slot_lag_bytes',
      help: "CHANGE_SOURCE=logical: WAL written since the replication slot's confirmed position, as its worker announced it",
      labelNames: ['slot'],
      aggregator: 'max',
      registers,
      async collect() {
        this.reset();
        for (const lag of await slotLag()) if (lag.bytes !== null) this.set({ slot: lag.slot }, lag.bytes);
      },
    }),
  );
  return metric('ripple_slot_lag_seconds', (registers) =>
    new Gauge({
      name: 'ripple_slot_lag_seconds',
      help: 'CHANGE_SOURCE=logical: age of the oldest commit the streaming worker received and has not yet put in Redis',
      labelNames: ['slot'],
      aggregator: 'max',
      registers,
      async collect() {
        this.reset();
        for (const lag of await slotLag()) if (lag.seconds !== null) this.set({ slot: lag.slot }, lag.seconds);
      },
    }),
  );
};

/** Creates every series at zero, so a scraper sees them before the first request or change. */
export function registerWebMetrics(): void {
  for (const create of [requests, requestSeconds, messages, eventsSent, commitToStream, slotLagGauges]) create();
}

/**
 * How a write (POST) was answered, as the status page groups them: 409 is a
 * counter that would go below zero, 429 the rate limit, any other 4xx a request
 * that was wrong (bad JSON or body, unknown profile, foreign origin), 5xx our fault.
 */
export type WriteOutcome = 'accepted' | 'belowZero' | 'rateLimited' | 'badRequest' | 'failed';

export function writeOutcome(status: number): WriteOutcome {
  if (status === 409) return 'belowZero';
  if (status === 429) return 'rateLimited';
  if (status >= 400 && status < 500) return 'badRequest';
  if (status >= 500) return 'failed';
  return 'accepted';
}

/** This process's write outcomes over the last minutes; announced, so the status page can add up every web process. */
export function writeWindow(): CountWindow<WriteOutcome> {
  // Every POST this process ever answered passes through record(), so its count starts with the process.
  globalForWindow.rippleWriteWindow ??= new CountWindow<WriteOutcome>(3, 180, Math.round(performance.timeOrigin));
  return globalForWindow.rippleWriteWindow;
}

type Handler<C> = (request: Request, context: C) => Promise<Response>;

/** Counts and times every answer of a route handler, labelled by the route's pattern (never the raw URL, which would explode the label set). */
export function withRequestMetrics<C>(route: string, handler: Handler<C>): Handler<C> {
  // The labelled children are looked up once per route, method and status, not hashed on every request.
  const children = new Map<string, { count: () => void; observe: (seconds: number) => void }>();
  const child = (method: string, status: number) => {
    const key = `${method} ${status}`;
    let found = children.get(key);
    if (!found) {
      const labels = { route, method, status: String(status) };
      const counter = requests().labels(labels);
      const histogram = requestSeconds().labels(labels);
      found = { count: () => counter.inc(), observe: (seconds) => histogram.observe(seconds) };
      children.set(key, found);
    }
    return found;
  };
  return async (request, context) => {
    // Any process that answers requests shows up on the status page, not only those with streams open.
    startWebAnnouncer();
    const started = performance.now();
    let status = 500;
    try {
      const response = await handler(request, context);
      status = response.status;
      return response;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const metrics = child(request.method, status);
      metrics.count();
      metrics.observe(seconds);
      // The only POST route is the profile write. (Prometheus already has these by status in ripple_http_requests_total.)
      if (request.method === 'POST') writeWindow().record(writeOutcome(status));
      // One line per request at debug level: the route pattern, never the body or query.
      if (logger.isLevelEnabled('debug')) {
        logger.debug({ route, method: request.method, status: String(status), ms: Math.round(seconds * 10_000) / 10 }, `http: ${request.method} ${route} ${status}`);
      }
    }
  };
}
