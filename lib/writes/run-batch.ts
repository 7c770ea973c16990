import type pg from 'pg';
import { isRequestSpecific, writeOutcome } from '../db';
import type { ProblemError } from '../http/problem';
import { logger } from '../logger';
import { COUNTERS, type Counter, type Profile } from '../profile';
import { failureFor, nothingChanged, unexpected } from './write-failures';
import { decodeBatch, encodeBatch, type BatchOutcome, type BatchRow, type DeltaRequest } from './write-plan';

// The SQL side of the write path: one statement per batch on one connection,
// and a true answer for every request in it, whatever Postgres did.

const BELOW_ZERO = new Map<string, Counter>(COUNTERS.map((counter) => [`${counter}_not_negative`, counter]));

type Client = Pick<pg.PoolClient, 'query'>;

/**
 * Adds the deltas to one profile in one UPDATE: the database does the
 * arithmetic, so concurrent writers never lose each other's changes, and the
 * CHECK constraints refuse the whole statement if any counter would go below zero.
 */
async function applyOne(db: Client, { username, deltas }: DeltaRequest): Promise<BatchOutcome> {
  const present = COUNTERS.filter((counter) => deltas[counter] !== undefined);
  // Column names come from the fixed COUNTERS list, never from input.
  const assignments = present.map((counter, index) => `${counter} = ${counter} + $${index + 2}`);
  try {
    const { rows } = await db.query<{ profile: Profile }>(
      `UPDATE profiles SET ${assignments.join(', ')} WHERE username = $1 RETURNING profile_json(profiles) AS profile`,
      [username, ...present.map((counter) => deltas[counter])],
    );
    return rows[0] ? { kind: 'applied', profile: rows[0].profile } : { kind: 'not-found' };
  } catch (error) {
    const counter = BELOW_ZERO.get((error as { constraint?: string }).constraint ?? '');
    if ((error as { code?: string }).code === '23514' && counter) return { kind: 'below-zero', counter };
    // lock_timeout on the one row it touches: rolled back, exactly like 'busy' in apply_profile_deltas.
    if ((error as { code?: string }).code === '55P03') return { kind: 'busy' };
    throw error;
  }
}

/**
 * One statement for any number of requests: apply_profile_deltas
 * (db/migrations/0004) reserves their Idempotency-Keys, locks the touched rows
 * in username order, decides each request in arrival order as if it ran alone,
 * gives each profile one UPDATE with its accepted deltas and records the keys
 * of what applied: one round trip, one transaction, one commit. Every request
 * on one profile gets the same committed row: it is the only state with that
 * version, so a client's version gate never sees two values under one version.
 * A lone request without a key is a plain UPDATE.
 */
async function runStatement(db: Client, requests: DeltaRequest[]): Promise<BatchRow[] | BatchOutcome[]> {
  if (requests.length === 1 && requests[0].key === undefined) return [await applyOne(db, requests[0])];
  const { rows } = await db.query<BatchRow>(
    'SELECT outcome, profile FROM apply_profile_deltas($1::text[], $2::int[], $3::int[], $4::int[], $5::text[]) ORDER BY ord',
    encodeBatch(requests),
  );
  return rows;
}

/** A request's answer inside a batch; `failed` is thrown to that request alone. */
export type Settled = BatchOutcome | { kind: 'failed'; error: ProblemError };

function decoded(requests: DeltaRequest[], rows: BatchRow[] | BatchOutcome[]): Settled[] {
  if (rows.length > 0 && 'kind' in rows[0]) return rows as BatchOutcome[];
  try {
    return decodeBatch(requests, rows as BatchRow[]);
  } catch (error) {
    // The statement ran (and committed): whatever it was, "nothing changed" would be false.
    const failure = unexpected(error);
    return requests.map(() => ({ kind: 'failed', error: failure }));
  }
}

/**
 * Runs a batch on one connection and settles every request in it truthfully.
 *
 * If Postgres refuses the statement because of one request's data (a trigger
 * refuses one row, say), nothing committed, so each request runs again alone,
 * one after another on this connection: only the one at fault fails, as if
 * nothing had been coalesced. A refusal that would fail every request the same
 * way (a read-only primary, a timeout) fails them all at once with 503, with no
 * second round. If the outcome is unknown (the connection dropped), every
 * request gets 504: running them again could apply some twice.
 */
export async function applyBatch(pool: Pick<pg.Pool, 'connect'>, requests: DeltaRequest[], deadlines: number[]): Promise<Settled[]> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    const failure = failureFor(error, 'connect');
    return requests.map(() => ({ kind: 'failed', error: failure }));
  }
  // A connection whose statement's outcome is unknown may still be running it: never reuse it.
  let discard: Error | undefined;
  try {
    try {
      return decoded(requests, await runStatement(client, requests));
    } catch (error) {
      if (requests.length === 1 || !isRequestSpecific(error)) {
        if (writeOutcome(error, 'query') !== 'rolled-back') discard = error as Error;
        const failure = failureFor(error, 'query');
        return requests.map(() => ({ kind: 'failed', error: failure }));
      }
      logger.warn({ err: (error as Error).message, requests: requests.length }, 'writes: Postgres rejected a batch; running its requests one by one');
    }
    const settled: Settled[] = [];
    let stop: ProblemError | undefined;
    for (const [index, request] of requests.entries()) {
      if (stop) settled.push({ kind: 'failed', error: stop });
      else if (Date.now() >= deadlines[index]) settled.push({ kind: 'failed', error: nothingChanged('The change could not be sent to the database before its deadline', 2) });
      else {
        try {
          settled.push(...decoded([request], await runStatement(client, [request])));
        } catch (error) {
          const failure = failureFor(error, 'query');
          settled.push({ kind: 'failed', error: failure });
          if (isRequestSpecific(error)) continue;
          // The rest are not sent: a read-only primary or a lost connection would fail them too.
          if (writeOutcome(error, 'query') !== 'rolled-back') discard = error as Error;
          stop = discard ? nothingChanged('The connection to the database was lost before this change was sent', 2) : failure;
        }
      }
    }
    return settled;
  } finally {
    client.release(discard);
  }
}
