// The standalone worker: LISTEN to Postgres, keep Redis equal to it.
// Several may run at once; the cache's version gate makes that harmless.
import { createProfileCache } from '../lib/cache/profile-cache';
import { getConfig } from '../lib/config';
import { closePool, getPool } from '../lib/db';
import { logger } from '../lib/logger';
import { closeRedis, getRedis } from '../lib/redis';
import { WORKER_ANNOUNCE_MS } from '../lib/ops/workers';
import { CacheWriter } from './cache-writer';
import { listenForever } from './listener';
import { warnIfRedisEvictsAnyKey } from './redis-policy';
import { serveMetrics } from './metrics';
import { WorkerReporter } from './status';

async function main(): Promise<void> {
  const config = getConfig();
  const shutdown = new AbortController();
  const cleanups: Array<() => unknown> = [];

  let signals = 0;
  const onSignal = (name: string) => {
    signals += 1;
    if (signals > 1) {
      logger.error(`worker: second ${name}; exiting without cleanup`);
      process.exit(1);
    }
    logger.info(`worker: ${name} received; shutting down (send it again to force)`);
    shutdown.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const pool = getPool();
  cleanups.push(() => closePool());
  const redis = getRedis();
  cleanups.push(() => closeRedis());
  const writer = new CacheWriter(pool, createProfileCache(redis, config.REDIS_PREFIX));
  cleanups.push(() => writer.drain());
  void warnIfRedisEvictsAnyKey(redis);

  const reporter = new WorkerReporter(redis, pool, config.REDIS_PREFIX, writer);
  const metrics = await serveMetrics(config.WORKER_METRICS_PORT, config.WORKER_METRICS_HOST);
  reporter.status.metricsPort = metrics.port;
  cleanups.push(() => metrics.close());
  const announce = () => void reporter.announce();
  // Cleanups run in reverse: the timer stops before the key is removed.
  cleanups.push(() => reporter.retire());
  const announcer = setInterval(announce, WORKER_ANNOUNCE_MS);
  cleanups.push(() => clearInterval(announcer));

  // A Redis that comes back may have lost everything (restart, FLUSHALL).
  let redisWasReady = redis.status === 'ready';
  redis.on('ready', () => {
    if (redisWasReady) void writer.resync('Redis reconnected');
    redisWasReady = true;
  });

  // Anti-entropy: NOTIFY is at-most-once, so never trust it alone.
  const antiEntropy = setInterval(() => void writer.resync('periodic anti-entropy'), config.RESYNC_INTERVAL_MS);
  cleanups.push(() => clearInterval(antiEntropy));

  // A worker counts as listening (and web processes trust the cache it keeps)
  // only once it LISTENs and a resync since then has completed: before that
  // it may not know the database's epoch (a database without migration 0005,
  // say), and its writes would change nothing anyone reads.
  let connected = false;
  writer.onResynced = () => {
    if (connected && !reporter.status.listening) reporter.setListening(true);
    announce();
  };

  logger.info({ id: reporter.status.id, prefix: config.REDIS_PREFIX }, 'worker: starting');
  await listenForever({
    connectionString: config.DATABASE_URL,
    heartbeatMs: config.LISTEN_HEARTBEAT_MS,
    signal: shutdown.signal,
    onNotification: (payload) => writer.accept(payload),
    onListening: () => {
      connected = true;
      // LISTEN first, then resync: anything committed before LISTEN is in the
      // table, anything after arrives as a notification; the gate orders both.
      // Announce at once, and again when the resync is done (onResynced).
      void writer.resync('connected').finally(announce);
    },
    onLost: (reason) => {
      connected = false;
      reporter.setListening(false);
      writer.failed(new Error(reason));
      announce();
    },
  });

  for (const cleanup of cleanups.reverse()) await cleanup();
  logger.info('worker: stopped cleanly');
}

main().catch((error) => {
  logger.fatal({ err: error }, `worker: ${(error as Error).message}`);
  process.exit(1);
});
