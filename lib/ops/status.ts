import { checkHealth, logHealthErrors } from './health';
import { getLiveHub } from '../live/hub';
import { plainError } from './plain-error';
import type { RollingSnapshot } from './rolling';
import { announceWeb, listWebProcesses, startWebAnnouncer, webId, webStatus, type WebLiveState, type WebStatus } from './web-processes';
import { streamWindow } from './web-metrics';
import type { WorkerStatus } from './workers';

type Part = { ok: boolean; ms: number; error: string | null };

export type SystemStatus = {
  at: string;
  postgres: Part;
  /** primaries: on a Redis Cluster, how many serve its slots. */
  redis: Part & { primaries?: number };
  workers: { ok: boolean; error: string | null; list: Array<WorkerStatus & { plainError: string | null }> };
  web: { self: string; list: WebStatus[]; stream: RollingSnapshot };
  /** This web process's subscription and what its streams are told; every process's is in web.list[].live. */
  live: { ok: boolean; error: string | null; state: WebLiveState };
};

function part(check: { ok: boolean; ms: number; error?: string }, name: string): Part {
  // The raw driver message is logged (logHealthErrors), not shown: it names hosts, ports and users.
  return { ok: check.ok, ms: check.ms, error: plainError(check.error, name) };
}

/**
 * Everything the status page shows, in one answer: health of each part, every
 * worker's and web process's announcement (each web process's write outcomes
 * among them, so the page adds up all of them), and this web process's rolling
 * window of changes and their commit→stream latency.
 */
export async function getStatus(): Promise<SystemStatus> {
  const now = Date.now();
  if (!globalForStatus.rippleStatus || now - globalForStatus.rippleStatus.at >= STATUS_CACHE_MS) {
    const promise = readStatus();
    globalForStatus.rippleStatus = { at: now, promise };
    // A failed read is not kept: the next caller tries again.
    promise.catch(() => {
      if (globalForStatus.rippleStatus?.promise === promise) globalForStatus.rippleStatus = undefined;
    });
  }
  return globalForStatus.rippleStatus.promise;
}

// Every open status page polls once a second: one read per process per second
// answers all of them, however many there are.
const STATUS_CACHE_MS = 1_000;
const globalForStatus = globalThis as unknown as { rippleStatus?: { at: number; promise: Promise<SystemStatus> } };

async function readStatus(): Promise<SystemStatus> {
  // The hub counts changes as they arrive: make sure it exists before anyone opens a stream.
  getLiveHub();
  startWebAnnouncer();
  await announceWeb().catch(() => undefined);
  const [health, announced] = await Promise.all([checkHealth(), listWebProcesses().catch(() => [])]);
  logHealthErrors(health);
  // This process's own figures come fresh from memory: they are true even when Redis is down.
  const web = [...announced.filter((process) => process.id !== webId), webStatus()].sort((a, b) => a.id.localeCompare(b.id));
  // One clock reading for the answer and the window, so the page never sees a step the answer's time has not reached.
  const now = Date.now();
  return {
    at: new Date(now).toISOString(),
    postgres: part(health.postgres, 'PostgreSQL'),
    redis: { ...part(health.redis, 'Redis'), ...(health.redis.primaries !== undefined ? { primaries: health.redis.primaries } : {}) },
    workers: {
      ok: health.worker.ok,
      error: plainError(health.worker.error, 'the worker'),
      list: health.worker.workers.map((worker) => {
        const plain = plainError(worker.lastError, 'PostgreSQL');
        return { ...worker, lastError: plain, plainError: plain };
      }),
    },
    web: { self: webId, list: web, stream: streamWindow().snapshot(now) },
    live: {
      ok: health.live.ok,
      error: plainError(health.live.error, 'Redis'),
      state: { subscribed: health.live.subscribed, since: health.live.since, error: plainError(health.live.error, 'Redis'), pipeline: health.live.pipeline, epoch: health.live.epoch },
    },
  };
}
