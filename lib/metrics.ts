import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

// One registry per process (web or worker). Cached on globalThis because dev hot
// reload re-evaluates modules and prom-client refuses a metric name twice.
const globalForMetrics = globalThis as unknown as { rippleRegistry?: Registry };

export function getRegistry(): Registry {
  if (!globalForMetrics.rippleRegistry) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    globalForMetrics.rippleRegistry = registry;
  }
  return globalForMetrics.rippleRegistry;
}

/** The metric registered under this name, created on first use. */
export function metric<T extends Metric>(name: string, create: (registers: Registry[]) => T): T {
  const registry = getRegistry();
  return (registry.getSingleMetric(name) as T | undefined) ?? create([registry]);
}

// Seconds; the low end is fine-grained because a healthy local pipeline takes about 1 ms.
export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Milliseconds from a profile's updatedAt (set by the database with
 * clock_timestamp()) to now. Only meaningful when the database and this process
 * share a clock, as on one machine; a negative skew is clamped to zero.
 */
export function msSince(iso: string, now = Date.now()): number | null {
  const at = Date.parse(iso);
  return Number.isFinite(at) ? Math.max(0, now - at) : null;
}

export async function metricsText(): Promise<{ body: string; contentType: string }> {
  const registry = getRegistry();
  return { body: await registry.metrics(), contentType: registry.contentType };
}
