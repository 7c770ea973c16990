import { getConfig } from '../config';
import { logger } from '../logger';
import { ANNOUNCE_TTL_S } from '../ops/announcements';
import { listWorkers } from '../ops/workers';
import { getRedis } from '../redis';
import { currentEpoch, refreshEpoch } from './epoch';

// Whether a worker keeps the cache. Checked once per web process on a timer,
// from the workers' announcements, never per request or per stream. The rule
// is PGCacheWatch's: a cache nobody keeps cannot be trusted, so when no worker
// has been listening for longer than an announcement lives, reads go to
// Postgres and open streams say live updates are paused.

const CHECK_MS = 2_000;

export const NO_WORKER =
  'No worker is copying changes from PostgreSQL into the cache, so new changes will not appear here until one runs.';
export const NO_REDIS = 'This web server cannot reach Redis, so it cannot tell whether changes are flowing; retrying.';

type Watch = {
  live: boolean;
  reason: string | null;
  /** When a worker was last seen listening (its announcement's time, never later than now). */
  lastListeningAt: number | null;
  checked: Promise<void> | null;
  timer: NodeJS.Timeout | null;
  listeners: Set<() => void>;
  /** Whether a worker was ever seen listening, so the first one is not announced as a return. */
  wasLive: boolean;
};

const globalForPipeline = globalThis as unknown as { ripplePipeline?: Watch };

function watch(): Watch {
  globalForPipeline.ripplePipeline ??= { live: false, reason: NO_WORKER, lastListeningAt: null, checked: null, timer: null, listeners: new Set(), wasLive: false };
  return globalForPipeline.ripplePipeline;
}

async function check(): Promise<void> {
  const w = watch();
  let reason = NO_WORKER;
  try {
    const now = Date.now();
    for (const worker of await listWorkers(getRedis(), getConfig().REDIS_PREFIX)) {
      if (!worker.listening) continue;
      // Capped at now: a worker whose clock runs ahead must not look alive for longer.
      const at = Math.min(Date.parse(worker.at), now);
      if (Number.isFinite(at) && (w.lastListeningAt === null || at > w.lastListeningAt)) w.lastListeningAt = at;
    }
  } catch {
    reason = NO_REDIS;
  }
  await refreshEpoch().catch(() => undefined);
  const live = w.lastListeningAt !== null && Date.now() - w.lastListeningAt <= ANNOUNCE_TTL_S * 1000;
  const next = live ? null : reason;
  if (live === w.live && next === w.reason) return;
  if (live !== w.live) {
    if (live) logger.info(`live: a worker is listening; reads use the cache${w.wasLive ? ' again' : ''}`);
    else logger.warn(`live: ${next} Reads go to PostgreSQL meanwhile.`);
  }
  w.live = live;
  w.wasLive ||= live;
  w.reason = next;
  for (const listener of [...w.listeners]) listener();
}

/** Starts the process's check (once); resolves when the first one is done. */
export function watchPipeline(): Promise<void> {
  const w = watch();
  if (!w.timer) {
    w.timer = setInterval(() => void check(), CHECK_MS);
    w.timer.unref?.();
    w.checked = check();
  }
  return w.checked!;
}

/** Whether a worker has been listening within the announcement TTL, as of the last check. */
export function workerState(): { live: boolean; reason: string | null } {
  const { live, reason } = watch();
  return { live, reason };
}

/** Calls back whenever the worker state changes; returns the unsubscribe. */
export function onWorkerStateChange(listener: () => void): () => void {
  watch().listeners.add(listener);
  return () => watch().listeners.delete(listener);
}

/**
 * What a read may rely on: the cache only while a worker keeps it and its
 * epoch is known; the generation to tag a fill with (captured before the
 * read, so data read under an epoch that ends meanwhile is never written
 * under the next one), or null when no fill is safe.
 */
export async function cacheView(): Promise<{ trusted: boolean; generation: number | null }> {
  await watchPipeline();
  const epoch = currentEpoch() ?? (await refreshEpoch().catch(() => null));
  const generation = epoch?.generation ?? null;
  return { trusted: watch().live && generation !== null, generation };
}
