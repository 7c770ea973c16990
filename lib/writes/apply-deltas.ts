import type pg from 'pg';
import { getConfig } from '../config';
import { getWritePool } from '../db';
import type { Counter, Profile } from '../profile';
import { applyBatch, type Settled } from './run-batch';
import { WriteBatcher, type WriteBatcherOptions } from './write-batcher';
import { rowBusy, unexpected } from './write-failures';
import type { DeltaRequest } from './write-plan';

export type ApplyDeltasResult =
  | { kind: 'applied'; profile: Profile }
  | { kind: 'replayed'; profile: Profile }
  | { kind: 'not-found' }
  | { kind: 'below-zero'; counter: Counter }
  | { kind: 'key-reused' };

type Queryable = Pick<pg.Pool, 'connect'>;

export type WriterStats = {
  coalescing: 'on' | 'off';
  batches: number;
  requests: number;
  largestBatch: number;
  /** Waiting to be sent now, and refused so far because the queue was full or the deadline passed. */
  queued: number;
  refusedQueueFull: number;
  refusedDeadline: number;
  /** Profiles whose row another transaction has held past the lock timeout lately (their writes take the side lane). */
  stalledProfiles: number;
};

export type DeltaWriter = {
  /** Applies the deltas atomically and answers this request alone; failures are thrown as true problem+json answers. */
  apply(request: DeltaRequest): Promise<ApplyDeltasResult>;
  /** How well it coalesces: requests per batch (a batch is one statement and one commit), and what it refused. */
  stats(): WriterStats;
};

export type DeltaWriterOptions = { coalescing: 'on' | 'off'; lockTimeoutMs?: number } & WriteBatcherOptions;

// How long a row stays "stalled" after a write to it timed out on its lock,
// unless a write to it gets through first.
const STALL_MEMORY_MS = 10_000;

/**
 * Rows that someone else's transaction held past the lock timeout. Their
 * writes go to a side lane of their own, one batch at a time, so a row that
 * stays locked for a minute costs the writes to every other row one lock
 * timeout (the batch that found it), not one per batch for that minute.
 */
class StalledRows {
  private until = new Map<string, number>();

  has(username: string): boolean {
    const until = this.until.get(username);
    if (until !== undefined && until <= Date.now()) this.until.delete(username);
    return until !== undefined && until > Date.now();
  }

  note(username: string, outcome: Settled): void {
    if (outcome.kind === 'busy') this.until.set(username, Date.now() + STALL_MEMORY_MS);
    else if (outcome.kind !== 'failed') this.until.delete(username);
  }

  get size(): number {
    for (const username of [...this.until.keys()]) this.has(username);
    return this.until.size;
  }
}

/**
 * The write path on its own, over any pool: what the endpoint uses (through
 * applyDeltas), and what the benchmark drives directly to measure Postgres
 * and coalescing without HTTP in front. Coalescing off is one transaction per request.
 */
export function createDeltaWriter(pool: Queryable, options: DeltaWriterOptions): DeltaWriter {
  const stalled = new StalledRows();
  const answer = (request: DeltaRequest, outcome: Settled): ApplyDeltasResult => {
    stalled.note(request.username, outcome);
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'busy') throw rowBusy(request.username, options.lockTimeoutMs ?? getConfig().WRITE_LOCK_TIMEOUT_MS);
    return outcome;
  };
  if (options.coalescing === 'off') {
    let requests = 0;
    return {
      apply: async (request) => {
        requests += 1;
        const [outcome] = await applyBatch(pool, [request], [Infinity]);
        return answer(request, outcome);
      },
      stats: () => ({
        coalescing: 'off', batches: requests, requests, largestBatch: requests > 0 ? 1 : 0,
        queued: 0, refusedQueueFull: 0, refusedDeadline: 0, stalledProfiles: stalled.size,
      }),
    };
  }
  const run = (requests: DeltaRequest[], deadlines: number[]) => applyBatch(pool, requests, deadlines);
  const main = new WriteBatcher<DeltaRequest, Settled>(run, options);
  const side = new WriteBatcher<DeltaRequest, Settled>(run, { ...options, maxInFlight: 1 });
  const lanes = [main, side];
  const sum = (field: 'batches' | 'requests' | 'queued' | 'refusedQueueFull' | 'refusedDeadline') => lanes.reduce((total, lane) => total + lane[field], 0);
  return {
    apply: (request) =>
      (stalled.has(request.username) ? side : main).submit(request).then(
        (outcome) => answer(request, outcome),
        (error: unknown) => {
          throw unexpected(error);
        },
      ),
    stats: () => ({
      coalescing: 'on',
      batches: sum('batches'),
      requests: sum('requests'),
      largestBatch: Math.max(main.largestBatch, side.largestBatch),
      queued: sum('queued'),
      refusedQueueFull: sum('refusedQueueFull'),
      refusedDeadline: sum('refusedDeadline'),
      stalledProfiles: stalled.size,
    }),
  };
}

const globalForWrites = globalThis as unknown as { rippleDeltaWriter?: DeltaWriter };

/** The process's writer over its write pool (dev hot reload keeps it). */
export function getDeltaWriter(): DeltaWriter {
  const config = getConfig();
  globalForWrites.rippleDeltaWriter ??= createDeltaWriter(getWritePool(), {
    coalescing: config.WRITE_COALESCING,
    windowMs: config.WRITE_COALESCING_WINDOW_MS,
    maxBatch: config.WRITE_COALESCING_MAX_BATCH,
    maxInFlight: config.WRITE_COALESCING_MAX_IN_FLIGHT,
    queueLimit: config.WRITE_QUEUE_LIMIT,
    deadlineMs: config.WRITE_QUEUE_DEADLINE_MS,
    lockTimeoutMs: config.WRITE_LOCK_TIMEOUT_MS,
  });
  return globalForWrites.rippleDeltaWriter;
}

/** How well this process coalesces: shown by /healthz, read by the benchmark. */
export function getWriteStats(): WriterStats {
  return getDeltaWriter().stats();
}

/**
 * Applies the deltas atomically. With WRITE_COALESCING on, concurrent calls
 * share one transaction (see applyBatch) and each still gets its own answer:
 * the committed profile, its replay, 404, its own 409 or 422; a failure is
 * thrown as the true answer (503 nothing changed, 504 outcome unknown, 500).
 */
export function applyDeltas(request: DeltaRequest): Promise<ApplyDeltasResult> {
  return getDeltaWriter().apply(request);
}
