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

/** Deletes every key that starts with the prefix (SCAN, so Redis never blocks); for tests and the benchmark. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

export async function closeRedis(): Promise<void> {
  const client = globalForRedis.rippleRedis;
  globalForRedis.rippleRedis = undefined;
  await client?.quit().catch(() => client.disconnect());
}
