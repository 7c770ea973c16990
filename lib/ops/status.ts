import { checkHealth } from './health';
import { getLiveHub } from '../live/hub';
import { plainError } from './plain-error';
import type { RollingSnapshot } from './rolling';
import { announceWeb, listWebProcesses, startWebAnnouncer, webId, type WebLiveState, type WebStatus } from './web-processes';
import { streamWindow } from './web-metrics';
import type { WorkerStatus } from './workers';

type Part = { ok: boolean; ms: number; error: string | null; detail: string | null };

export type SystemStatus = {
  at: string;
  postgres: Part;
  redis: Part;
  workers: { ok: boolean; error: string | null; list: Array<WorkerStatus & { plainError: string | null }> };
  web: { self: string; list: WebStatus[]; stream: RollingSnapshot };
  /** This web process's subscription and what its streams are told; every process's is in web.list[].live. */
  live: { ok: boolean; error: string | null; state: WebLiveState };
};

function part(check: { ok: boolean; ms: number; error?: string }, name: string): Part {
  return { ok: check.ok, ms: check.ms, error: plainError(check.error, name), detail: check.error ?? null };
}

/**
 * Everything the status page shows, in one answer: health of each part, every
 * worker's and web process's announcement, and this web process's rolling
 * window of changes and their commit→stream latency.
 */
export async function getStatus(): Promise<SystemStatus> {
  // The hub counts changes as they arrive: make sure it exists before anyone opens a stream.
  getLiveHub();
  startWebAnnouncer();
  await announceWeb().catch(() => undefined);
  const [health, web] = await Promise.all([checkHealth(), listWebProcesses().catch(() => [])]);
  return {
    at: new Date().toISOString(),
    postgres: part(health.postgres, 'PostgreSQL'),
    redis: part(health.redis, 'Redis'),
    workers: {
      ok: health.worker.ok,
      error: plainError(health.worker.error, 'the worker'),
      list: health.worker.workers.map((worker) => ({ ...worker, plainError: plainError(worker.lastError, 'PostgreSQL') })),
    },
    web: { self: webId, list: web, stream: streamWindow().snapshot() },
    live: {
      ok: health.live.ok,
      error: plainError(health.live.error, 'Redis'),
      state: { subscribed: health.live.subscribed, since: health.live.since, error: health.live.error ?? null, pipeline: health.live.pipeline, epoch: health.live.epoch },
    },
  };
}
