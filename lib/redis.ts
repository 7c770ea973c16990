import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { getConfig } from './config';
import { logger } from './logger';
import { parseRedisUrl, type RedisTarget } from './redis-url';

/** A command client: one Redis, or ioredis' client for a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export function redisTarget(): RedisTarget {
  return parseRedisUrl(getConfig().REDIS_URL);
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

// Fail a command after one reconnect attempt instead of queueing it for
// minutes: reads fall back to Postgres and the worker resyncs instead.
const nodeDefaults: RedisOptions = {
  maxRetriesPerRequest: 1,
  retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000) + Math.floor(Math.random() * 100),
};

/**
 * Every client gets an 'error' listener: without one, ioredis reports a Redis
 * restart as an unhandled error event and Node exits. A down Redis repeats the
 * same error on every retry: each new one is logged once.
 */
function reportErrors<T extends RedisClient>(client: T, role: string): T {
  let lastError = '';
  client.on('error', (error: Error) => {
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

/** A new client for REDIS_URL: a plain one for one Redis, a Cluster client for a cluster. */
export function createRedis(role: string, options: RedisOptions = {}, target: RedisTarget = redisTarget()): RedisClient {
  if (!target.cluster) return reportErrors(new Redis(target.url, { ...nodeDefaults, ...options }), role);
  return reportErrors(
    new Cluster(target.nodes, {
      redisOptions: { ...nodeDefaults, ...auth(target), ...options },
      // A failover takes the cluster's node timeout plus an election; keep
      // retrying a slot that moved or is down for about that long.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
      slotsRefreshTimeout: 2_000,
    }),
    role,
  );
}

function auth(target: Extract<RedisTarget, { cluster: true }>): RedisOptions {
  return { username: target.username, password: target.password, ...(target.tls ? { tls: {} } : {}) };
}

/** A plain connection to one node of the cluster REDIS_URL names (sharded pub/sub talks to each primary). */
export function createNodeRedis(role: string, node: { host: string; port: number }, options: RedisOptions = {}, target: RedisTarget = redisTarget()): Redis {
  const extra = target.cluster ? auth(target) : {};
  return reportErrors(new Redis({ ...nodeDefaults, ...extra, host: node.host, port: node.port, ...options }), role);
}

export type SlotRange = { first: number; last: number; primary: string };

/** Which primary ("host:port") serves which slots, as the cluster says now (CLUSTER SLOTS). */
export async function clusterSlots(redis: RedisClient): Promise<SlotRange[]> {
  const reply = (await redis.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>;
  return reply.map(([first, last, [host, port]]) => ({ first, last, primary: `${host}:${port}` })).sort((a, b) => a.first - b.first);
}

// One command client per process; dev hot reload keeps the cached one.
const globalForRedis = globalThis as unknown as { rippleRedis?: RedisClient };

export function getRedis(): RedisClient {
  globalForRedis.rippleRedis ??= createRedis('commands', { commandTimeout: 1_000 });
  return globalForRedis.rippleRedis;
}

/**
 * The keys matching a pattern, a page at a time (SCAN, so Redis never blocks
 * the way KEYS does); on a cluster, every primary's in turn.
 */
export async function* scanKeys(redis: RedisClient, pattern: string, count = 500): AsyncGenerator<string[]> {
  // A cluster client knows its primaries once connected: a PING waits for that.
  if (isCluster(redis)) await redis.ping();
  const nodes: Redis[] = isCluster(redis) ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length) yield keys;
    } while (cursor !== '0');
  }
}

/**
 * UNLINKs keys, however many slots they span: one command on one Redis, one
 * per key on a cluster (sent without waiting for each other). Returns how many existed.
 */
export async function unlinkKeys(redis: RedisClient, keys: string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (!isCluster(redis)) return redis.unlink(...keys);
  const removed = await Promise.all(keys.map((key) => redis.unlink(key)));
  return removed.reduce((sum, count) => sum + count, 0);
}

/** Deletes every key that starts with the prefix; for tests and the benchmark. */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<void> {
  for await (const keys of scanKeys(redis, `${prefix}*`)) await unlinkKeys(redis, keys);
}

export async function closeRedis(): Promise<void> {
  const client = globalForRedis.rippleRedis;
  globalForRedis.rippleRedis = undefined;
  await client?.quit().catch(() => client.disconnect());
}
