import { describe, expect, it } from 'vitest';
import { isRolledBack, isUnavailable } from '@/lib/db';

const failure = (code: string | undefined, message = 'failed') => Object.assign(new Error(message), { code });

describe('what a failed statement tells the write path', () => {
  it('treats an error Postgres reported for the statement as rolled back, so its requests may run again', () => {
    for (const code of ['P0001', '23514', '40P01', '42P01', 'XX000']) expect(isRolledBack(failure(code)), code).toBe(true);
  });

  it('treats a lost connection, an operator stop or a client timeout as an unknown outcome', () => {
    for (const code of ['08006', '08003', '57P01', '57014', 'ECONNRESET', 'ECONNREFUSED', undefined]) {
      expect(isRolledBack(failure(code)), String(code)).toBe(false);
    }
    expect(isRolledBack(failure(undefined, 'Query read timeout'))).toBe(false);
    expect(isRolledBack(failure(undefined, 'Connection terminated unexpectedly'))).toBe(false);
    expect(isRolledBack(undefined)).toBe(false);
  });

  it('answers 503 (unavailable) for connection-level failures only', () => {
    expect(isUnavailable(failure('ECONNREFUSED'))).toBe(true);
    expect(isUnavailable(failure('57P01'))).toBe(true);
    expect(isUnavailable(failure(undefined, 'Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailable(failure('23514'))).toBe(false);
    expect(isUnavailable(failure('P0001'))).toBe(false);
  });
});
