import type pg from 'pg';
import type { CacheWrite, ProfileCache } from '../lib/cache/profile-cache';
import { logger } from '../lib/logger';
import { msSince } from '../lib/metrics';
import { RollingWindow } from '../lib/ops/rolling';
import type { Profile } from '../lib/profile';
import { resyncCache, type ResyncResult } from '../lib/cache/resync';
import { workerMetrics } from './metrics';
import { parseNotification, type Change } from './notifications';

type Pending = { write: CacheWrite; order: number; generation: number; profile?: Profile };

/**
 * Applies notifications to the cache in pipelined batches (one round trip for
 * everything that arrived meanwhile), and runs resyncs one at a time: a
 * resync asked for while one runs is run once more afterwards, never in parallel.
 *
 * Every write is tagged with the cache generation of the epoch it was read in
 * (see lib/cache/gate.ts). A change that arrives before the epoch is known, or
 * is tagged with an epoch that has just ended, changes nothing anyone reads:
 * it committed before the resync that follows every new epoch, which brings it in.
 */
export class CacheWriter {
  received = 0;
  applied = 0;
  lastResync: (Omit<ResyncResult, 'movedBack' | 'newestGeneration'> & { at: string }) | null = null;
  lastError: string | null = null;
  lagMs: number | null = null;
  lastErrorAt: string | null = null;
  /** The database's epoch and the cache generation it maps to, once known. */
  epoch: string | null = null;
  generation: number | null = null;
  /** Live changes and their commit→cache latency, for the status page. */
  readonly window = new RollingWindow();
  /** Called after every resync that completed: the cache follows the database's epoch and holds every row. */
  onResynced: () => void = () => {};

  private pending = new Map<string, Pending>();
  private flushing: Promise<void> | null = null;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private gathering: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | null = null;
  private lastResyncSucceeded = false;
  /** How many times this worker moved the cache to another epoch. */
  private adoptions = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly cache: ProfileCache,
  ) {}

  accept(payload: string): void {
    this.received += 1;
    workerMetrics.received().inc();
    const change = parseNotification(payload);
    if (!change) {
      logger.warn({ payload: payload.slice(0, 200) }, 'worker: ignored a notification that is not a profile');
      return;
    }
    if (change.kind === 'reset') {
      void this.resync("the database's epoch changed (TRUNCATE, or versions moved back)");
      return;
    }
    if (change.kind === 'deleted' && change.version === null) {
      // From a trigger older than migration 0005: the orphan pass writes the tombstone.
      void this.resync('a deletion without its version');
      return;
    }
    this.enqueue(change);
  }

  /**
   * One committed transaction from the replication slot. Resolves only once
   * every change in it is in Redis (or a resync that read it from the table
   * has completed); rejects otherwise, so its LSN is never confirmed.
   */
  async applyTransaction({ changes, reread }: { changes: Change[]; reread: string[] }): Promise<void> {
    this.received += changes.length + reread.length;
    workerMetrics.received().inc(changes.length + reread.length);
    if (this.generation === null) throw new Error("the cache's epoch is not known yet");
    const resyncFor = changes.some((change) => change.kind === 'reset')
      ? "the database's epoch changed (TRUNCATE, or versions moved back)"
      : changes.some((change) => change.kind === 'deleted' && change.version === null)
        ? 'a deletion without its version (rows deleted with triggers off)'
        : null;
    if (resyncFor) {
      // The resync reads the table after this commit: everything in it is there.
      await this.resync(resyncFor);
      if (!this.lastResyncSucceeded) throw new Error(`the resync after ${resyncFor} failed`);
      return;
    }
    for (const change of changes) if (change.kind !== 'reset') this.enqueue(change);
    if (reread.length) {
      // A row with an unchanged large (TOASTed) column arrives without it: read
      // it again. Postgres may hold a newer version by now; the gate orders both.
      const { rows } = await this.pool.query<{ profile: Profile }>('SELECT profile_json(p) AS profile FROM profiles p WHERE username = ANY($1::text[])', [reread]);
      for (const { profile } of rows) this.enqueue({ kind: 'profile', profile });
    }
    await this.batchDone();
  }

  /** Makes the database's epoch the cache's; true when the cache changed epoch (and so needs a full resync). */
  async followEpoch(): Promise<boolean> {
    const before = this.adoptions;
    await this.ensureEpoch();
    return this.adoptions > before;
  }

  private enqueue(change: Exclude<Change, { kind: 'reset' }>): void {
    if (this.generation === null) return;
    const entry: Pending =
      change.kind === 'profile'
        ? { write: { username: change.profile.username, version: change.profile.version, json: JSON.stringify(change.profile) }, order: change.profile.version, generation: this.generation, profile: change.profile }
        : // A deletion at v comes after the row at v and before the row created again at v+1.
          { write: { username: change.username, version: change.version!, missing: true }, order: change.version! + 0.5, generation: this.generation };
    const id = `${entry.generation}:${entry.write.username}`;
    const queued = this.pending.get(id);
    // Within a batch only the newest change per profile matters; a deletion and
    // the row created again in one transaction keep the row.
    if (!queued || entry.order > queued.order) this.pending.set(id, entry);
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Settles when the batch now being gathered has been written (rejects if that write failed). */
  private batchDone(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    if (!this.gathering) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      // Nobody need wait for it (NOTIFY changes never do).
      promise.catch(() => undefined);
      this.gathering = { promise, resolve, reject };
    }
    return this.gathering.promise;
  }

  /** Checks the epoch, then re-reads every profile into the cache; logs progress on big tables. */
  resync(reason: string): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      try {
        let rounds = 0;
        do {
          this.resyncAgain = false;
          rounds += 1;
          const generation = await this.ensureEpoch();
          const result = await resyncCache({
            pool: this.pool,
            cache: this.cache,
            generation,
            onPage: ({ profiles }) => {
              if (profiles % 20_000 === 0) logger.info({ profiles }, `worker: resync in progress, ${profiles} profiles so far`);
            },
          });
          const { movedBack, newestGeneration, ...summary } = result;
          this.lastResync = { ...summary, at: new Date().toISOString() };
          workerMetrics.resyncSeconds().observe(result.ms / 1000);
          workerMetrics.applied().inc({ source: 'resync' }, result.applied);
          // A periodic pass that found nothing to fix is routine: debug, so the log shows only what changed.
          logger[reason === 'periodic anti-entropy' && result.applied === 0 && result.removed === 0 ? 'debug' : 'info']({ reason, ...summary }, `worker: resynced ${result.profiles} profiles in ${result.ms} ms (${result.applied} were stale, ${result.removed} deleted)`);
          if (movedBack.length > 0) {
            logger.warn(
              { rows: movedBack.slice(0, 5), count: movedBack.length },
              `worker: ${movedBack.length} profiles have a lower version in PostgreSQL than in the cache (a restore, or rows changed with triggers off); starting a new epoch so the cache and every open page start over`,
            );
            await this.pool.query('SELECT cache_epoch_advance()');
            this.resyncAgain = true;
          } else if (newestGeneration > generation && rounds < 3) {
            // Another worker began a newer epoch while this pass ran: catch up at once.
            this.resyncAgain = true;
          }
        } while (this.resyncAgain);
        clearTimeout(this.retryTimer);
        this.lastResyncSucceeded = true;
        this.onResynced();
      } catch (error) {
        this.lastResyncSucceeded = false;
        this.failed(error);
        logger.warn({ err: this.lastError }, 'worker: resync failed; trying again in 2 s');
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.resync('retry after failure'), 2_000);
      } finally {
        this.resyncing = null;
      }
    })();
    return this.resyncing;
  }

  async drain(): Promise<void> {
    clearTimeout(this.retryTimer);
    await this.flushing;
    await this.resyncing;
  }

  /**
   * Makes the database's epoch the cache's. The worker that changes it empties
   * the cache's profiles (entries of the old generation are already ignored by
   * every reader; this frees them and their versions for good).
   */
  private async ensureEpoch(): Promise<number> {
    const { rows } = await this.pool.query<{ epoch: string }>('SELECT cache_epoch() AS epoch').catch((error: { code?: string }) => {
      if (error.code === '42883' || error.code === '42P01') {
        throw new Error('the database has no cache_epoch() (migration 0005): run `npm run db:setup`, then the worker carries on by itself');
      }
      throw error;
    });
    const epoch = rows[0].epoch;
    const { generation, changed } = await this.cache.adoptEpoch(epoch);
    if (changed) {
      this.adoptions += 1;
      logger.info(
        { epoch, was: this.epoch, generation },
        `worker: the cache now follows database epoch ${epoch}${this.epoch ? ` (was ${this.epoch})` : ''}; emptying its profiles and resyncing`,
      );
      const removed = await this.cache.emptyProfiles();
      logger.info({ removed }, `worker: emptied ${removed} cached profiles of the previous epoch`);
    } else if (this.epoch !== null && this.epoch !== epoch) {
      logger.info({ epoch, generation }, `worker: another worker already moved the cache to database epoch ${epoch}`);
    }
    this.epoch = epoch;
    this.generation = generation;
    return generation;
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const batch = [...this.pending.values()];
        this.pending = new Map();
        const done = this.gathering;
        this.gathering = null;
        workerMetrics.batchSize().observe(batch.length);
        try {
          for (const generation of new Set(batch.map((entry) => entry.generation))) {
            const entries = batch.filter((entry) => entry.generation === generation);
            const result = await this.cache.write(entries.map((entry) => entry.write), generation);
            this.applied += result.applied;
            workerMetrics.applied().inc({ source: 'live' }, result.applied);
            if (result.newestGeneration > generation && generation === this.generation) {
              void this.resync('another worker began a new epoch');
            }
          }
          this.observeLatency(batch.flatMap((entry) => entry.profile ?? []));
          done?.resolve();
        } catch (error) {
          done?.reject(error);
          // These changes are in Postgres; a resync brings them in once Redis answers again.
          this.failed(error);
          logger.warn({ err: this.lastError, changes: batch.length }, 'worker: cache write failed; resyncing');
          void this.resync('cache write failed');
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  failed(error: unknown): void {
    this.lastError = error instanceof Error ? error.message : String(error);
    this.lastErrorAt = new Date().toISOString();
  }

  private observeLatency(profiles: Profile[]): void {
    const now = Date.now();
    let largest: number | null = null;
    for (const profile of profiles) {
      const ms = msSince(profile.updatedAt, now);
      if (ms !== null) {
        workerMetrics.commitToCache().observe(ms / 1000);
        largest = Math.max(largest ?? 0, ms);
      }
      this.window.record(ms, now);
    }
    if (profiles.length) this.lagMs = largest ?? 0;
  }
}
