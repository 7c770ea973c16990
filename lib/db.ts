import pg from 'pg';
import { getConfig } from './config';
import { logger } from './logger';

// One pool per process for reads (and the worker), and one small pool for the
// write path. Dev hot reload re-evaluates this module; caching the pools on
// globalThis keeps it from leaking new pools per edit.
const globalForDb = globalThis as unknown as { ripplePool?: pg.Pool; rippleWritePool?: pg.Pool };

function createPool(): pg.Pool {
  const pool = new pg.Pool({
    connectionString: getConfig().DATABASE_URL,
    max: 10,
    connectionTimeoutMillis: 2_000,
    // A read should fail with 503 rather than hang behind a stuck statement.
    query_timeout: 10_000,
    keepAlive: true,
  });
  // An idle client losing its connection (Postgres restarted) must not crash the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'db: an idle Postgres connection failed; the pool replaces it'));
  return pool;
}

export type WritePoolOptions = { connectionString: string; max: number; lockTimeoutMs: number; statementTimeoutMs: number };

/**
 * The write path's connections carry Postgres's own lock_timeout and
 * statement_timeout (sent at connect, since Postgres starts a statement's timer
 * before the statement runs). When one fires, Postgres rolls the write back, so
 * "nothing was changed" is then true. The client-side timer fires only 2 s
 * later, as a backstop for a server that stops answering: its outcome is
 * unknown, since Postgres may still commit what it was sent. Reads and the
 * worker keep the shared pool: they must not inherit a one-second lock timeout.
 */
export function createWritePool({ connectionString, max, lockTimeoutMs, statementTimeoutMs }: WritePoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 2_000,
    lock_timeout: lockTimeoutMs,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 2_000,
    keepAlive: true,
  });
  pool.on('error', (error) => logger.warn({ err: error }, 'db: an idle Postgres write connection failed; the pool replaces it'));
  return pool;
}

export function getPool(): pg.Pool {
  globalForDb.ripplePool ??= createPool();
  return globalForDb.ripplePool;
}

/**
 * The process's write pool: with coalescing on, one connection per batch slot
 * plus one for the side lane of rows found locked (lib/writes/apply-deltas), so
 * a batch never waits for a connection.
 */
export function getWritePool(): pg.Pool {
  const config = getConfig();
  globalForDb.rippleWritePool ??= createWritePool({
    connectionString: config.DATABASE_URL,
    max: config.WRITE_COALESCING === 'on' ? config.WRITE_COALESCING_MAX_IN_FLIGHT + 1 : 10,
    lockTimeoutMs: config.WRITE_LOCK_TIMEOUT_MS,
    statementTimeoutMs: config.WRITE_STATEMENT_TIMEOUT_MS,
  });
  return globalForDb.rippleWritePool;
}

export async function query<Row extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
  return getPool().query<Row>(text, params);
}

export async function closePool(): Promise<void> {
  const pools = [globalForDb.ripplePool, globalForDb.rippleWritePool];
  globalForDb.ripplePool = undefined;
  globalForDb.rippleWritePool = undefined;
  await Promise.all(pools.map((pool) => pool?.end()));
}

type DbError = { code?: unknown; severity?: unknown; message?: unknown } | undefined;

const codeOf = (error: unknown) => {
  const code = (error as DbError)?.code;
  return typeof code === 'string' ? code : undefined;
};
const isSqlState = (code: string | undefined): code is string => code !== undefined && /^[0-9A-Z]{5}$/.test(code);

// Connection-level failures (refused, reset, timed out, server shutting down)
// as opposed to a statement the database rejected.
export function isUnavailable(error: unknown): boolean {
  const err = error as { code?: string; message?: string } | undefined;
  if (!err) return false;
  if (err.code && /^(57P0[1-3]|08\d{3}|53300|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/.test(err.code)) return true;
  return /timeout|Connection terminated|not queryable|ECONNREFUSED/i.test(err.message ?? '');
}

/**
 * Postgres reported an error for the statement and the session goes on: the
 * statement's transaction did not commit (an ERROR aborts it; anything after a
 * commit's record is written would be a PANIC, not an ERROR). That includes
 * 55P03 lock_timeout, 57014 statement_timeout or cancel, 25006 read-only and
 * every constraint error. Not included: class 08 (connection) and 57P0x
 * (operator shutdown, crash, database dropped), and any FATAL or PANIC, which
 * end the session and may arrive after the commit: their outcome is unknown.
 */
export function isRolledBack(error: unknown): boolean {
  const code = codeOf(error);
  // Only an ErrorResponse from the server has a severity; Node's own errors (EPIPE) have none.
  const severity = (error as DbError)?.severity;
  if (typeof severity !== 'string' || !isSqlState(code) || /^(08|57P)/.test(code)) return false;
  return severity !== 'FATAL' && severity !== 'PANIC';
}

/** pg refused to send the statement at all: the client's connection had already failed or closed. */
function wasNeverSent(error: unknown): boolean {
  const message = (error as DbError)?.message;
  return typeof message === 'string' && /is not queryable/.test(message);
}

/**
 * What a failed write did to the data, which decides the answer:
 * - `not-sent`: it never reached Postgres (no connection, or the connection was
 *   already broken): nothing changed;
 * - `rolled-back`: Postgres refused or cancelled it (see isRolledBack): nothing changed;
 * - `unknown`: it was sent, then the connection died or the client stopped
 *   waiting: Postgres may have committed it, or may still commit it.
 * `phase` says whether the error came from getting a connection or from the statement.
 */
export function writeOutcome(error: unknown, phase: 'connect' | 'query'): 'not-sent' | 'rolled-back' | 'unknown' {
  if (phase === 'connect' || wasNeverSent(error)) return 'not-sent';
  return isRolledBack(error) ? 'rolled-back' : 'unknown';
}

/**
 * A rolled-back statement whose cause lies in one request's data (a constraint,
 * a value out of range, a trigger that refused a row, a deadlock with another
 * transaction): running each request of the batch alone finds the one at
 * fault. Anything else (a read-only primary, a timeout, a full disk, a missing
 * function) would fail every request the same way, so nothing is run again.
 */
export function isRequestSpecific(error: unknown): boolean {
  const code = codeOf(error);
  return isRolledBack(error) && /^(22|23|40|P0)/.test(code ?? '');
}

/** A rolled-back statement that says the database cannot take writes right now (not that the write was wrong). */
export function isTransient(error: unknown): boolean {
  const code = codeOf(error) ?? '';
  return isRolledBack(error) && /^(55P03|57014|25006|53|58|40)/.test(code);
}
