import { getConfig } from '../config';
import { query } from '../db';
import { getLiveHub } from '../live/hub';
import { logger } from '../logger';
import { plainError } from './plain-error';
import { getRedis, isCluster } from '../redis';
import { listWebProcesses, webId, webStatus, type WebLiveState } from './web-processes';
import { listWorkers, type SlotStatus, type WorkerStatus } from './workers';

type Check = { ok: boolean; ms: number; error?: string };

export type Health = {
  ok: boolean;
  postgres: Check;
  /** On a Redis Cluster, how many primaries serve its slots now. */
  redis: Check & { primaries?: number };
  worker: Check & {
    count: number;
    lagMs: number | null;
    notificationQueueUsage: number | null;
    /** CHANGE_SOURCE=logical: the slot as the worker streaming from it last announced it (else any worker's); null with notify. */
    slot: SlotStatus | null;
    workers: WorkerStatus[];
  };
  /**
   * This web process's Redis subscription (without it, its streams hear
   * nothing) and what its streams are told; and every announced web
   * process's subscription, as each last reported it.
   */
  live: Check & Omit<WebLiveState, 'error'> & { webs: Array<{ id: string; live: WebLiveState | null }> };
};

export type HealthPart = 'postgres' | 'redis' | 'worker' | 'live';

/** The parts that are down, for /healthz's 503. */
export function downParts(health: Record<HealthPart, { ok: boolean }>): HealthPart[] {
  return (['postgres', 'redis', 'worker', 'live'] as const).filter((part) => !health[part].ok);
}

async function timed<T>(work: () => Promise<T>): Promise<{ ok: boolean; ms: number; value?: T; error?: string }> {
  const started = performance.now();
  try {
    const value = await work();
    return { ok: true, ms: Math.round((performance.now() - started) * 100) / 100, value };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message };
  }
}

export async function checkHealth(): Promise<Health> {
  const redis = getRedis();
  // A new process subscribes now rather than at its first stream; a moment's
  // wait lets a healthy subscription be confirmed before it is judged.
  const hub = getLiveHub();
  const [postgres, ping, workers, webs] = await Promise.all([
    timed(() => query('SELECT 1')),
    timed(() => redis.ping()),
    timed(() => listWorkers(redis, getConfig().REDIS_PREFIX)),
    timed(() => listWebProcesses()),
    hub.ready([], 1_000),
  ]);
  const self = webStatus().live!;
  const { error: subscribeError, ...state } = self;
  const live = {
    ok: self.subscribed,
    ms: 0,
    ...state,
    webs: (webs.value ?? []).map((web) => (web.id === webId ? { id: web.id, live: self } : { id: web.id, live: web.live ?? null })),
    ...(self.subscribed ? {} : { error: subscribeError ?? 'this web process is not subscribed to Redis, so its streams hear no changes' }),
  };
  const found = workers.value ?? [];
  const listening = found.filter((worker) => worker.listening).length;
  const largest = (values: Array<number | null>) => {
    const known = values.filter((value): value is number => value !== null);
    return known.length ? Math.max(...known) : null;
  };
  const worker = {
    ok: listening > 0,
    ms: workers.ms,
    count: found.length,
    lagMs: largest(found.map((w) => w.lagMs)),
    notificationQueueUsage: largest(found.map((w) => w.queueUsage)),
    slot: (found.find((w) => w.slot?.role === 'streaming') ?? found.find((w) => w.slot))?.slot ?? null,
    workers: found,
    ...(listening > 0
      ? {}
      : { error: workers.error ?? (found.length ? 'no worker is listening to Postgres right now' : 'no worker is running; start one with `npm run start:worker`') }),
  };
  return {
    ok: postgres.ok && ping.ok && worker.ok && live.ok,
    postgres: { ok: postgres.ok, ms: postgres.ms, ...(postgres.error ? { error: postgres.error } : {}) },
    redis: { ok: ping.ok, ms: ping.ms, ...(ping.error ? { error: ping.error } : {}), ...(isCluster(redis) ? { primaries: redis.nodes('master').length } : {}) },
    worker,
    live,
  };
}

/**
 * What /healthz tells an operator: the checks without the workers' rolling
 * figures (only the status page needs those), and every error as a sentence a
 * person can act on. The raw driver messages go to the log (logHealthErrors).
 */
export function healthSummary(health: Health) {
  const plain = <T extends { error?: string }>(check: T, part: string) => (check.error ? { ...check, error: plainError(check.error, part) ?? undefined } : check);
  const workers = health.worker.workers.map((worker) => ({ ...worker, lastError: plainError(worker.lastError, 'PostgreSQL'), commitToCache: undefined, queueHistory: undefined }));
  return {
    ...health,
    postgres: plain(health.postgres, 'PostgreSQL'),
    redis: plain(health.redis, 'Redis'),
    worker: { ...plain(health.worker, 'the worker'), workers },
    live: plain(health.live, 'Redis'),
  };
}

const logged = { postgres: '', redis: '', worker: '', live: '' };

/** Logs each part's raw error once when it appears or changes, and once when it clears. */
export function logHealthErrors(health: Health): void {
  for (const part of ['postgres', 'redis', 'worker', 'live'] as const) {
    const error = health[part].error ?? '';
    if (error === logged[part]) continue;
    if (error) logger.warn({ part, err: error }, `health: ${part} check failed: ${error}`);
    else logger.info({ part }, `health: ${part} is ok again`);
    logged[part] = error;
  }
}
