import type { Cluster } from 'ioredis';
import { logger } from '../lib/logger';
import { clusterSlots } from '../lib/redis';

const CHECK_MS = 1_000;

/**
 * Calls back when the cluster's primaries change: replication is
 * asynchronous, so a replica promoted after its primary died may lack the
 * primary's last writes, and only a resync puts them back. Asks CLUSTER SLOTS
 * once a second (a few hundred bytes) rather than waiting for ioredis to
 * notice. Returns the stop.
 */
export function watchPrimaries(redis: Cluster, changed: (reason: string) => void): () => void {
  let known: string | null = null;
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      const slots = await clusterSlots(redis);
      const primaries = slots.map((range) => `${range.first}-${range.last}@${range.primary}`).join(' ');
      if (known !== null && primaries !== known) {
        const now = [...new Set(slots.map((range) => range.primary))].sort().join(', ');
        logger.warn({ primaries: now }, `worker: the Redis Cluster's primaries changed (now ${now}); resyncing, since a promoted replica may lack its old primary's last writes`);
        changed('the Redis Cluster failed over');
      }
      known = primaries;
    } catch {
      // A cluster mid-failover may not answer; the next check asks again.
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), CHECK_MS);
  timer.unref?.();
  void check();
  return () => clearInterval(timer);
}
