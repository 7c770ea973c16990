import type { RedisClient } from '../lib/redis';
import { logger } from '../lib/logger';

/**
 * The gate orders writes by the version a key holds; a key that Redis evicts
 * holds none, so a late write of an older value would be accepted until the
 * next resync. Says so at start when Redis may evict any key. Managed Redis
 * often disables CONFIG: then there is nothing to check.
 */
export async function warnIfRedisEvictsAnyKey(redis: RedisClient): Promise<void> {
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy?.startsWith('allkeys-')) {
      logger.warn(
        { policy },
        `worker: Redis may evict any key under memory pressure (maxmemory-policy ${policy}); an evicted profile loses its version, so a late write could show an older value until the next resync. Use noeviction or a volatile-* policy`,
      );
    }
  } catch (error) {
    logger.debug({ err: (error as Error).message }, 'worker: cannot read maxmemory-policy; not checking eviction');
  }
}
