import { isRequestSpecific, isTransient, writeOutcome } from '../db';
import { ProblemError } from '../http/problem';
import { logger } from '../logger';
import { QueueRefusal } from './write-batcher';

// Every failed write becomes one of three true answers:
// - 503 unavailable: nothing was changed (never sent, or rolled back by Postgres), try again;
// - 500 internal: nothing was changed, but trying again will not help;
// - 504 outcome-unknown: sent, then the answer was lost; it may have been applied.

const RETRY = 'Try again in a few seconds.';

/** 503 with Retry-After: the write was not applied, and a retry may well succeed. */
export function nothingChanged(why: string, retryAfterSeconds = 1): ProblemError {
  return new ProblemError('unavailable', `${why}; nothing was changed. ${RETRY}`, {}, { 'Retry-After': String(retryAfterSeconds) });
}

/** 504: the statement was sent and its answer lost; Postgres may have committed it (or may still). */
export function outcomeUnknown(): ProblemError {
  return new ProblemError(
    'outcome-unknown',
    'The change was sent to the database, but its answer was lost, so it may or may not have been applied. ' +
      'Retrying with the same Idempotency-Key is safe: a key is applied at most once. Without a key, check the profile before you retry.',
  );
}

/** The request's row (or its key) stayed locked by another transaction past the lock timeout. */
export function rowBusy(username: string, lockTimeoutMs: number): ProblemError {
  return nothingChanged(`@${username} has been locked by another transaction for over ${lockTimeoutMs} ms, so the database gave up waiting for it`, 2);
}

/** A write the batcher never sent. */
export function refused(refusal: QueueRefusal): ProblemError {
  if (refusal.reason === 'queue-full') return nothingChanged('This server has too many changes waiting for the database', 1);
  return nothingChanged(`The change waited ${refusal.waitedMs} ms for the database without being sent`, 2);
}

/** Why Postgres rolled a write back, in words a person can act on. */
function rolledBackBecause(error: unknown): string {
  const code = (error as { code?: string }).code ?? '';
  if (code === '25006') return 'The database is read-only right now (a failover or maintenance is under way)';
  if (code === '57014') return 'The database cancelled the change because it took too long';
  if (code === '55P03') return 'The database gave up waiting for a row locked by another transaction';
  if (code.startsWith('40')) return 'The database stopped the change because of a conflict with another transaction';
  return 'The database cannot take changes right now';
}

/**
 * The true answer for a write that failed with `error`, thrown while getting
 * a connection (`connect`) or after the statement was handed to pg (`query`).
 */
export function failureFor(error: unknown, phase: 'connect' | 'query'): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof QueueRefusal) return refused(error);
  const outcome = writeOutcome(error, phase);
  const message = (error as Error)?.message;
  if (outcome === 'unknown') {
    logger.warn({ err: message, code: (error as { code?: string })?.code }, 'writes: lost the answer to a write that was sent; its outcome is unknown (504)');
    return outcomeUnknown();
  }
  if (outcome === 'not-sent') {
    logger.warn({ err: message }, 'writes: could not reach Postgres; the write was not sent (503)');
    return nothingChanged('The database is not reachable right now', 2);
  }
  if (isTransient(error)) {
    logger.warn({ err: message, code: (error as { code?: string }).code }, 'writes: Postgres rolled a write back (503)');
    return nothingChanged(rolledBackBecause(error), 2);
  }
  logger.error({ err: error }, isRequestSpecific(error) ? 'writes: Postgres refused a write' : 'writes: Postgres refused a write; every write would fail the same way');
  return new ProblemError('internal', 'The database refused this change; nothing was changed. Trying again will not help until this is fixed on our side.');
}

/**
 * An error the write path did not expect (a bug, or an answer it cannot
 * read) after the statement may have run: say so, never "nothing was changed".
 */
export function unexpected(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof QueueRefusal) return refused(error);
  logger.error({ err: error }, 'writes: unexpected error after the write was sent; its outcome is unknown');
  return new ProblemError(
    'internal',
    'Something went wrong on our side after the change was sent, so it may or may not have been applied. ' +
      'Retrying with the same Idempotency-Key is safe: a key is applied at most once.',
  );
}
