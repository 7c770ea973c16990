import type pg from 'pg';
import { getConfig } from '../config';
import { getPool, isRolledBack } from '../db';
import { logger } from '../logger';
import { COUNTERS, type Counter, type Profile } from '../profile';
import { WriteBatcher, type WriteBatcherOptions } from './write-batcher';
import { decodeBatch, encodeBatch, type BatchRow, type DeltaRequest } from './write-plan';

export type ApplyDeltasResult =
  | { kind: 'applied'; profile: Profile }
  | { kind: 'not-found' }
  | { kind: 'below-zero'; counter: Counter };

const BELOW_ZERO = new Map<string, Counter>(COUNTERS.map((counter) => [`${counter}_not_negative`, counter]));

/**
 * Adds the deltas to one profile in one UPDATE: the database does the
 * arithmetic, so concurrent writers never lose each other's changes, and the
 * CHECK constraints refuse the whole statement if any counter would go below zero.
 */
async function applyOne(db: Queryable, { username, deltas }: DeltaRequest): Promise<ApplyDeltasResult> {
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
    throw error;
  }
}

/**
 * Many requests in one statement: apply_profile_deltas (db/migrations/0003)
 * locks the touched rows in username order, decides each request in arrival
 * order as if it ran alone, and gives each profile one UPDATE with its
 * accepted deltas: one round trip, one transaction, one commit. Every request
 * on one profile gets the same committed row: it is the only state with that
 * version, so a client's version gate never sees two values under one version.
 *
 * If Postgres rejects the statement (a trigger refuses one row, say), nothing
 * committed, so each request runs again alone: only the one at fault fails,
 * as if nothing had been coalesced. If the outcome is unknown (the connection
 * dropped), every request fails: running them again could apply some twice.
 */
async function applyBatch(db: Queryable, requests: DeltaRequest[]): Promise<BatchOutcome[]> {
  if (requests.length === 1) return [await applyOne(db, requests[0])];
  try {
    const { rows } = await db.query<BatchRow>(
      'SELECT outcome, profile FROM apply_profile_deltas($1::text[], $2::int[], $3::int[], $4::int[]) ORDER BY ord',
      encodeBatch(requests),
    );
    return decodeBatch(requests, rows);
  } catch (error) {
    if (!isRolledBack(error)) throw error;
    logger.warn({ err: (error as Error).message, requests: requests.length }, 'writes: Postgres rejected a batch; running its requests one by one');
    return Promise.all(requests.map((request) => applyOne(db, request).catch((failure: unknown): BatchOutcome => ({ kind: 'failed', error: failure }))));
  }
}

/** A request's answer inside a batch; `failed` is re-thrown to that request alone. */
type BatchOutcome = ApplyDeltasResult | { kind: 'failed'; error: unknown };

function answer(outcome: BatchOutcome): ApplyDeltasResult {
  if (outcome.kind === 'failed') throw outcome.error;
  return outcome;
}

type Queryable = Pick<pg.Pool, 'query'>;

export type DeltaWriter = {
  /** Applies the deltas atomically and answers this request alone: the committed profile, not-found or its own below-zero. */
  apply(request: DeltaRequest): Promise<ApplyDeltasResult>;
  /** How well it coalesces: requests per batch (a batch is one statement and one commit). */
  stats(): { coalescing: 'on' | 'off'; batches: number; requests: number; largestBatch: number };
};

/**
 * The write path on its own, over any pool: what the endpoint uses (through
 * applyDeltas), and what the benchmark drives directly to measure Postgres
 * and coalescing without HTTP in front. Coalescing off is one transaction per request.
 */
export function createDeltaWriter(db: Queryable, options: { coalescing: 'on' | 'off' } & WriteBatcherOptions): DeltaWriter {
  if (options.coalescing === 'off') {
    let requests = 0;
    return {
      apply: (request) => {
        requests += 1;
        return applyOne(db, request);
      },
      stats: () => ({ coalescing: 'off', batches: requests, requests, largestBatch: requests > 0 ? 1 : 0 }),
    };
  }
  const batcher = new WriteBatcher<DeltaRequest, BatchOutcome>((requests) => applyBatch(db, requests), options);
  return {
    apply: (request) => batcher.submit(request).then(answer),
    stats: () => ({ coalescing: 'on', batches: batcher.batches, requests: batcher.requests, largestBatch: batcher.largestBatch }),
  };
}

const globalForWrites = globalThis as unknown as { rippleDeltaWriter?: DeltaWriter };

/** The process's writer over its one pool (dev hot reload keeps it). */
export function getDeltaWriter(): DeltaWriter {
  const config = getConfig();
  globalForWrites.rippleDeltaWriter ??= createDeltaWriter(getPool(), {
    coalescing: config.WRITE_COALESCING,
    windowMs: config.WRITE_COALESCING_WINDOW_MS,
    maxBatch: config.WRITE_COALESCING_MAX_BATCH,
    maxInFlight: config.WRITE_COALESCING_MAX_IN_FLIGHT,
  });
  return globalForWrites.rippleDeltaWriter;
}

/** How well this process coalesces: shown by /healthz, read by the benchmark. */
export function getWriteStats() {
  return getDeltaWriter().stats();
}

/**
 * Applies the deltas atomically. With WRITE_COALESCING on, concurrent calls
 * share one transaction (see applyBatch) and each still gets its own answer:
 * the committed profile, 404 or its own 409.
 */
export function applyDeltas(request: DeltaRequest): Promise<ApplyDeltasResult> {
  return getDeltaWriter().apply(request);
}
