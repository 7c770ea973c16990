import { Redis, type RedisOptions } from 'ioredis';
import { getConfig } from './config';
import { logger } from './logger';

/**
 * A new ioredis client. Every client gets an 'error' listener: without one,
 * ioredis reports a Redis restart as an unhandled error event and Node exits.
 */
export function createRedis(role: string, options: RedisOptions = {}): Redis {
  const client = new Redis(getConfig().REDIS_URL, {
    // Fail a command after one reconnect attempt instead of queueing it for
    // minutes: reads fall back to Postgres and the worker resyncs instead.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000) + Math.floor(Math.random() * 100),
    ...options,
  });
  let lastError = '';
  client.on('error', (error: Error) => {
    // A down Redis repeats the same error on every retry: log each new one once.
    if (error.message === lastError) return;
    lastError = error.message;
    logger.warn({ role, err: error.message }, `redis(${role}): ${error.message}; retrying. Is Redis running at REDIS_URL?`);
  });
  client.on('ready', () => {
    if (lastError) logger.info({ role }, `redis(${role}): connected again`);
    lastError = '';
  });
  return client;
}

// One command client per process; dev hot reload keeps the cached one.
const globalForRedis = globalThis as unknown as { rippleRedis?: Redis };

export function getRedis(): Redis {
  globalForRedis.rippleRedis ??= createRedis('commands', { commandTimeout: 1_000 });
  return globalForRedis.rippleRedis;
}

/** The keys matching a pattern, a page at a time (SCAN, so Redis never blocks the way KEYS does). */
export async function* scanKeys(redis: Redis, pattern: string, count = 500): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', count);
    cursor = next;
    if (keys.length) yield keys;
  } while (cursor !== '0');
}

/** Deletes every key that starts with the prefix; for tests and the benchmark. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  for await (const keys of scanKeys(redis, `${prefix}*`)) await redis.del(...keys);
}

export async function closeRedis(): Promise<void> {
  const client = globalForRedis.rippleRedis;
  globalForRedis.rippleRedis = undefined;
  await client?.quit().catch(() => client.disconnect());
}
