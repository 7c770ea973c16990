// The standalone worker: LISTEN to Postgres, keep Redis equal to it.
// Several may run at once; the cache's version gate makes that harmless.
import { createProfileCache } from '../lib/cache/profile-cache';
import { ChangeSourceError, dropIdleSlot, slotName, switchChangeSource } from '../lib/change-source';
import { getConfig } from '../lib/config';
import { closePool, getPool } from '../lib/db';
import { logger } from '../lib/logger';
import { onStopSignals } from '../lib/stop-signals';
import { closeRedis, getRedis, isCluster } from '../lib/redis';
import { watchPrimaries } from './cluster-watch';
import { WORKER_ANNOUNCE_MS } from '../lib/ops/workers';
import { CacheWriter } from './cache-writer';
import { listenForever } from './listener';
import { LogicalSource } from './logical-source';
import { warnIfRedisEvictsAnyKey } from './redis-policy';
import { serveMetrics } from './metrics';
import { WorkerReporter } from './status';

async function main(): Promise<void> {
  const config = getConfig();
  const shutdown = new AbortController();
  const cleanups: Array<() => unknown> = [];

  onStopSignals({
    stop: (signal) => {
      logger.info(`worker: ${signal} received; shutting down (send it again to force)`);
      shutdown.abort();
    },
    force: (signal) => {
      logger.error(`worker: second ${signal}; exiting without cleanup`);
      process.exit(1);
    },
  });

  const pool = getPool();
  cleanups.push(() => closePool());
  const redis = getRedis();
  cleanups.push(() => closeRedis());
  const writer = new CacheWriter(pool, createProfileCache(redis, config.REDIS_PREFIX));
  cleanups.push(() => writer.drain());
  void warnIfRedisEvictsAnyKey(redis);

  const logical = config.CHANGE_SOURCE === 'logical' ? new LogicalSource(pool, writer, config.DATABASE_URL) : null;
  const reporter = new WorkerReporter(redis, pool, config.REDIS_PREFIX, writer, logical);
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

  // On a cluster, a failover can lose the last writes a primary had not yet
  // passed to its replica: a new primary anywhere means a resync.
  if (isCluster(redis)) cleanups.push(watchPrimaries(redis, (reason) => void writer.resync(reason)));

  // Anti-entropy: NOTIFY is at-most-once, so never trust it alone.
  const antiEntropy = setInterval(() => void writer.resync('periodic anti-entropy'), config.RESYNC_INTERVAL_MS);
  cleanups.push(() => clearInterval(antiEntropy));

  logger.info({ id: reporter.status.id, prefix: config.REDIS_PREFIX, source: config.CHANGE_SOURCE }, `worker: starting (CHANGE_SOURCE=${config.CHANGE_SOURCE})`);
  if (logical) {
    // The cache follows the slot once the stream has caught up with what was
    // committed before it started (and a resync has run, when one was needed).
    writer.onResynced = announce;
    await logical.run({
      heartbeatMs: config.LISTEN_HEARTBEAT_MS,
      signal: shutdown.signal,
      onReady: () => {
        reporter.setListening(true);
        announce();
      },
      onLost: (reason) => {
        reporter.setListening(false);
        writer.failed(new Error(reason));
        announce();
      },
    });
  } else {
    await runNotify(writer, reporter, announce, shutdown.signal);
  }

  for (const cleanup of cleanups.reverse()) await cleanup();
  logger.info('worker: stopped cleanly');
}

/**
 * CHANGE_SOURCE=notify: LISTEN, make sure the notify trigger fires (and that
 * no slot of ours is left holding WAL), then resync.
 */
async function runNotify(writer: CacheWriter, reporter: WorkerReporter, announce: () => void, signal: AbortSignal): Promise<void> {
  const config = getConfig();
  const pool = getPool();
  const slot = slotName(config.DATABASE_URL);
  let slotLeft = false;
  const switchToNotify = async () => {
    const result = await switchChangeSource(pool, { source: 'notify', databaseUrl: config.DATABASE_URL });
    if (result.switched) logger.info('worker: switched the database to CHANGE_SOURCE=notify (notify trigger on)');
    if (result.slotDropped) logger.info({ slot }, `worker: dropped replication slot ${slot}, left from CHANGE_SOURCE=logical`);
    if (result.slotBusy !== null && !slotLeft) {
      logger.warn(
        { slot, pid: result.slotBusy },
        `worker: replication slot ${slot} is still read by walsender pid ${result.slotBusy} (a worker with CHANGE_SOURCE=logical?); it holds WAL until dropped. This worker drops it once that worker stops; or stop it and run: SELECT pg_drop_replication_slot('${slot}');`,
      );
    }
    slotLeft = result.slotBusy !== null;
  };

  // A worker counts as listening (and web processes trust the cache it keeps)
  // only once it LISTENs and a resync since then has completed: before that
  // it may not know the database's epoch (a database without migration 0005,
  // say), and its writes would change nothing anyone reads.
  let connected = false;
  writer.onResynced = () => {
    if (connected && !reporter.status.listening) reporter.setListening(true);
    announce();
    if (slotLeft) void dropIdleSlot(pool, slot).then((result) => {
      slotLeft = !result.slotDropped && result.slotBusy !== null;
      if (result.slotDropped) logger.info({ slot }, `worker: dropped replication slot ${slot}, left from CHANGE_SOURCE=logical`);
    }, () => undefined);
  };

  await listenForever({
    connectionString: config.DATABASE_URL,
    heartbeatMs: config.LISTEN_HEARTBEAT_MS,
    signal,
    onNotification: (payload) => writer.accept(payload),
    onListening: () => {
      connected = true;
      // LISTEN first, then the trigger on, then resync: anything committed
      // before is in the table, anything after arrives as a notification; the
      // gate orders both. Announce at once, and again when the resync is done.
      void switchToNotify()
        .catch((error: Error) => logger.warn({ err: error.message }, `worker: could not make sure the notify trigger fires (${error.message}); run \`npm run db:setup\``))
        .then(() => writer.resync('connected'))
        .finally(announce);
    },
    onLost: (reason) => {
      connected = false;
      reporter.setListening(false);
      writer.failed(new Error(reason));
      announce();
    },
  });
}

main().catch((error) => {
  // A setup the operator must change is one sentence, not a stack trace.
  if (error instanceof ChangeSourceError) logger.fatal(`worker: ${error.message}`);
  else logger.fatal({ err: error }, `worker: ${(error as Error).message}`);
  process.exit(1);
});
