import pg from 'pg';
import { getConfig } from './config';
import { logger } from './logger';

// One pool per process. Dev hot reload re-evaluates this module; caching the pool
// on globalThis keeps it from leaking a new pool per edit.
const globalForDb = globalThis as unknown as { ripplePool?: pg.Pool };

function createPool(): pg.Pool {
  const pool = new pg.Pool({
    connectionString: getConfig().DATABASE_URL,
    max: 10,
    connectionTimeoutMillis: 2_000,
    // A request should fail with 503 rather than hang behind a stuck statement.
    query_timeout: 10_000,
    keepAlive: true,
  });
  // An idle client losing its connection (Postgres restarted) must not crash the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'db: an idle Postgres connection failed; the pool replaces it'));
  return pool;
}

export function getPool(): pg.Pool {
  globalForDb.ripplePool ??= createPool();
  return globalForDb.ripplePool;
}

export async function query<Row extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
  return getPool().query<Row>(text, params);
}

export async function closePool(): Promise<void> {
  const pool = globalForDb.ripplePool;
  globalForDb.ripplePool = undefined;
  await pool?.end();
}

// Connection-level failures (refused, reset, timed out, server shutting down)
// as opposed to a statement the database rejected.
export function isUnavailable(error: unknown): boolean {
  const err = error as { code?: string; message?: string } | undefined;
  if (!err) return false;
  if (err.code && /^(57P0[1-3]|08\d{3}|53300|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/.test(err.code)) return true;
  return /timeout|Connection terminated|not queryable|ECONNREFUSED/i.test(err.message ?? '');
}

/**
 * Postgres answered the statement with an error of its own (a SQLSTATE outside
 * the connection and operator-intervention classes): a single-statement
 * transaction that reports an error did not commit, so running its work again
 * cannot apply anything twice. Anything else (a dropped connection, a client
 * timeout) leaves the outcome unknown.
 */
export function isRolledBack(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|57)/.test(code) && !isUnavailable(error);
}
