import pg from 'pg';
import { logger } from '../lib/logger';

export const CHANNEL = 'profile_changes';
export const LISTEN_APPLICATION_NAME = 'ripple-worker-listen';
const SELF_CHECK_CHANNEL = 'ripple_self_check';
const SELF_CHECK_TIMEOUT_MS = 5_000;

type ListenOptions = {
  connectionString: string;
  heartbeatMs: number;
  signal: AbortSignal;
  onNotification: (payload: string) => void;
  /** Runs after every successful LISTEN: the place to resync what was missed while away. */
  onListening: () => void;
  onLost: (reason: string) => void;
};

export function backoffMs(attempt: number): number {
  const capped = Math.min(100 * 2 ** attempt, 10_000);
  // Full jitter: many workers restarting together do not reconnect in lockstep.
  return Math.round(capped / 2 + Math.random() * (capped / 2));
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Forcibly drops the socket: end() waits for a server that may never answer. */
function destroy(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/**
 * Proves that a NOTIFY sent on another connection reaches this one. A
 * transaction-mode pooler (PgBouncer pool_mode=transaction) accepts LISTEN but
 * never delivers: without this check the cache would silently stop updating.
 */
async function verifyDelivery(listener: pg.Client, connectionString: string): Promise<void> {
  const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  let onNotification: (message: pg.Notification) => void = () => {};
  const arrived = new Promise<boolean>((resolve) => {
    onNotification = (message) => {
      if (message.channel === SELF_CHECK_CHANNEL && message.payload === token) resolve(true);
    };
    listener.on('notification', onNotification);
    setTimeout(() => resolve(false), SELF_CHECK_TIMEOUT_MS).unref();
  });
  await listener.query(`LISTEN ${SELF_CHECK_CHANNEL}`);
  const sender = new pg.Client({ connectionString, connectionTimeoutMillis: 5_000 });
  try {
    await sender.connect();
    await sender.query('SELECT pg_notify($1, $2)', [SELF_CHECK_CHANNEL, token]);
  } finally {
    await sender.end().catch(() => undefined);
  }
  const ok = await arrived;
  listener.off('notification', onNotification);
  await listener.query(`UNLISTEN ${SELF_CHECK_CHANNEL}`);
  if (!ok) {
    throw new Error(
      `a NOTIFY sent on another connection did not arrive within ${SELF_CHECK_TIMEOUT_MS / 1000} s. ` +
        'DATABASE_URL may point at a transaction-mode pooler, which drops LISTEN/NOTIFY: give the worker a direct connection to Postgres',
    );
  }
}

/**
 * Holds one dedicated LISTEN connection (never through a pooler, which would
 * drop notifications) until the signal aborts. A connection that errors,
 * ends, or stops answering the heartbeat is replaced, with exponential
 * backoff and jitter; the attempt counter resets only once LISTEN succeeded.
 */
export async function listenForever(options: ListenOptions): Promise<void> {
  const { connectionString, heartbeatMs, signal } = options;
  let attempt = 0;
  while (!signal.aborted) {
    const client = new pg.Client({
      connectionString,
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
      // Lets an operator (or a test) find this connection in pg_stat_activity.
      application_name: LISTEN_APPLICATION_NAME,
    });
    let heartbeat: NodeJS.Timeout | undefined;
    const lost = new Promise<string>((resolve) => {
      client.on('error', (error) => resolve(error.message));
      client.on('end', () => resolve('the connection ended'));
      signal.addEventListener('abort', () => resolve('shutting down'), { once: true });
      // A silently dead connection raises nothing: only a query that never answers shows it.
      heartbeat = setInterval(() => {
        const timeout = setTimeout(() => resolve(`no heartbeat answer within ${heartbeatMs} ms`), heartbeatMs);
        client.query('SELECT 1').then(
          () => clearTimeout(timeout),
          (error: Error) => {
            clearTimeout(timeout);
            resolve(`heartbeat failed: ${error.message}`);
          },
        );
      }, heartbeatMs);
    });
    try {
      await client.connect();
      client.on('notification', (message) => {
        if (message.channel === CHANNEL && message.payload) options.onNotification(message.payload);
      });
      await client.query(`LISTEN ${CHANNEL}`);
      await verifyDelivery(client, connectionString);
      attempt = 0;
      logger.info({ channel: CHANNEL }, 'worker: listening for profile changes');
      options.onListening();
      const reason = await lost;
      if (signal.aborted) break;
      options.onLost(reason);
      logger.warn({ reason }, `worker: lost the LISTEN connection (${reason}); reconnecting`);
    } catch (error) {
      if (signal.aborted) break;
      options.onLost((error as Error).message);
      logger.warn(
        { err: (error as Error).message, attempt },
        `worker: cannot LISTEN (${(error as Error).message}); is PostgreSQL running at DATABASE_URL? retrying`,
      );
    } finally {
      clearInterval(heartbeat);
      destroy(client);
      client.removeAllListeners('notification');
    }
    attempt += 1;
    await sleep(backoffMs(attempt), signal);
  }
}
