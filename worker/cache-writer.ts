import type pg from 'pg';
import type { ProfileCache } from '../lib/cache/profile-cache';
import { logger } from '../lib/logger';
import { msSince } from '../lib/metrics';
import { RollingWindow } from '../lib/ops/rolling';
import { profileSchema, type Profile } from '../lib/profile';
import { resyncCache, type ResyncResult } from '../lib/cache/resync';
import { workerMetrics } from './metrics';

type Deletion = { username: string; deleted: true };

function parseNotification(payload: string): Profile | Deletion | null {
  try {
    const value = JSON.parse(payload) as { deleted?: boolean; username?: string };
    if (value.deleted === true && typeof value.username === 'string') return { username: value.username, deleted: true };
    const parsed = profileSchema.safeParse(value);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Applies notifications to the cache in pipelined batches (one round trip for
 * everything that arrived meanwhile), and runs resyncs one at a time: a
 * resync asked for while one runs is run once more afterwards, never in parallel.
 */
export class CacheWriter {
  received = 0;
  applied = 0;
  lastResync: (ResyncResult & { at: string }) | null = null;
  lastError: string | null = null;
  lagMs: number | null = null;
  lastErrorAt: string | null = null;
  /** Live changes and their commit→cache latency, for the status page. */
  readonly window = new RollingWindow();

  private pending = new Map<string, Profile | Deletion>();
  private flushing: Promise<void> | null = null;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;

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
    const queued = this.pending.get(change.username);
    // Within a batch only the newest change per profile matters.
    if (!queued || 'deleted' in change || ('version' in queued && change.version > queued.version)) {
      this.pending.set(change.username, change);
    }
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Re-reads every profile into the cache; logs progress on big tables. */
  resync(reason: string): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      try {
        do {
          this.resyncAgain = false;
          const result = await resyncCache({
            pool: this.pool,
            cache: this.cache,
            onPage: ({ profiles }) => {
              if (profiles % 20_000 === 0) logger.info({ profiles }, `worker: resync in progress, ${profiles} profiles so far`);
            },
          });
          this.lastResync = { ...result, at: new Date().toISOString() };
          workerMetrics.resyncSeconds().observe(result.ms / 1000);
          workerMetrics.applied().inc({ source: 'resync' }, result.applied);
          // A periodic pass that found nothing to fix is routine: debug, so the log shows only what changed.
          logger[reason === 'periodic anti-entropy' && result.applied === 0 && result.removed === 0 ? 'debug' : 'info']({ reason, ...result }, `worker: resynced ${result.profiles} profiles in ${result.ms} ms (${result.applied} were stale, ${result.removed} deleted)`);
        } while (this.resyncAgain);
        clearTimeout(this.retryTimer);
      } catch (error) {
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

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const batch = [...this.pending.values()];
        this.pending = new Map();
        const profiles = batch.filter((change): change is Profile => !('deleted' in change));
        workerMetrics.batchSize().observe(batch.length);
        try {
          const applied = await this.cache.putMany(profiles);
          this.applied += applied;
          workerMetrics.applied().inc({ source: 'live' }, applied);
          this.observeLatency(profiles);
          for (const change of batch) if ('deleted' in change) await this.cache.remove(change.username);
        } catch (error) {
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
