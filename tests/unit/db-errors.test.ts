import { describe, expect, it } from 'vitest';
import { isRequestSpecific, isRolledBack, isTransient, isUnavailable, writeOutcome } from '@/lib/db';

// What pg hands over: a server's ErrorResponse carries a severity; Node's socket errors (EPIPE) do not.
const NODE_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE']);
const failure = (code: string | undefined, message = 'failed', severity: string | undefined = code && !NODE_ERRORS.has(code) ? 'ERROR' : undefined) =>
  Object.assign(new Error(message), { code, severity });

describe('what a failed statement tells the write path', () => {
  it('an ERROR Postgres reported for the statement means it rolled back: constraints, triggers, timeouts, cancels, read-only', () => {
    for (const code of ['P0001', '23514', '22003', '40P01', '40001', '42P01', 'XX000', '55P03', '57014', '25006', '53100']) {
      expect(isRolledBack(failure(code)), code).toBe(true);
      expect(writeOutcome(failure(code), 'query'), code).toBe('rolled-back');
    }
  });

  it('a lost connection, an operator shutdown, any FATAL or a client-side timeout leaves the outcome unknown', () => {
    for (const code of ['08006', '08003', '57P01', '57P02', '57P04', 'ECONNRESET', 'EPIPE', undefined]) {
      // An operator shutdown is sent as FATAL; the code alone already says the session ended.
      expect(isRolledBack(failure(code)), String(code)).toBe(false);
      expect(writeOutcome(failure(code), 'query'), String(code)).toBe('unknown');
    }
    // A FATAL ends the session and may come after the commit, whatever its SQLSTATE.
    expect(writeOutcome(failure('40001', 'terminating connection due to conflict with recovery', 'FATAL'), 'query')).toBe('unknown');
    expect(writeOutcome(failure('XX000', 'boom', 'PANIC'), 'query')).toBe('unknown');
    expect(writeOutcome(failure(undefined, 'Query read timeout'), 'query')).toBe('unknown');
    expect(writeOutcome(failure(undefined, 'Connection terminated unexpectedly'), 'query')).toBe('unknown');
    expect(isRolledBack(undefined)).toBe(false);
  });

  it('a statement that never left (no connection, or pg refused a broken one) changed nothing', () => {
    expect(writeOutcome(failure('ECONNREFUSED'), 'connect')).toBe('not-sent');
    expect(writeOutcome(failure(undefined, 'timeout exceeded when trying to connect'), 'connect')).toBe('not-sent');
    expect(writeOutcome(failure('57P03', 'the database system is starting up', 'FATAL'), 'connect')).toBe('not-sent');
    expect(writeOutcome(failure(undefined, 'Client has encountered a connection error and is not queryable'), 'query')).toBe('not-sent');
    expect(writeOutcome(failure(undefined, 'Client was closed and is not queryable'), 'query')).toBe('not-sent');
  });

  it('re-runs a batch request by request only when the cause can lie in one request', () => {
    for (const code of ['23514', '22003', 'P0001', '40P01']) expect(isRequestSpecific(failure(code)), code).toBe(true);
    // These fail every request the same way: a re-run would be a storm of identical failures.
    for (const code of ['25006', '57014', '55P03', '53100', '42883', '08006', '57P01']) expect(isRequestSpecific(failure(code)), code).toBe(false);
  });

  it('calls a rollback transient (503, try again) only when the database cannot take writes right now', () => {
    for (const code of ['25006', '57014', '55P03', '53100', '53200', '58030', '40001', '40P01']) expect(isTransient(failure(code)), code).toBe(true);
    for (const code of ['23514', 'P0001', '42883', 'XX000', '08006', '57P01']) expect(isTransient(failure(code)), code).toBe(false);
  });

  it('answers reads 503 (unavailable) for connection-level failures only', () => {
    expect(isUnavailable(failure('ECONNREFUSED'))).toBe(true);
    expect(isUnavailable(failure('57P01'))).toBe(true);
    expect(isUnavailable(failure(undefined, 'Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailable(failure('23514'))).toBe(false);
    expect(isUnavailable(failure('P0001'))).toBe(false);
  });
});
