import { checkHealth } from './health';
import { getLiveHub } from '../live/hub';
import { plainError } from './plain-error';
import type { RollingSnapshot } from './rolling';
import { announceWeb, listWebProcesses, startWebAnnouncer, webId, webStatus, type WebStatus } from './web-processes';
import { streamWindow } from './web-metrics';
import type { WorkerStatus } from './workers';

type Part = { ok: boolean; ms: number; error: string | null; detail: string | null };

export type SystemStatus = {
  at: string;
  postgres: Part;
  redis: Part;
  workers: { ok: boolean; error: string | null; list: Array<WorkerStatus & { plainError: string | null }> };
  web: { self: string; list: WebStatus[]; stream: RollingSnapshot };
};

function part(check: { ok: boolean; ms: number; error?: string }, name: string): Part {
  return { ok: check.ok, ms: check.ms, error: plainError(check.error, name), detail: check.error ?? null };
}

/**
 * Everything the status page shows, in one answer: health of each part, every
 * worker's and web process's announcement (each web process's write outcomes
 * among them, so the page adds up all of them), and this web process's rolling
 * window of changes and their commit→stream latency.
 */
export async function getStatus(): Promise<SystemStatus> {
  // The hub counts changes as they arrive: make sure it exists before anyone opens a stream.
  getLiveHub();
  startWebAnnouncer();
  await announceWeb().catch(() => undefined);
  const [health, announced] = await Promise.all([checkHealth(), listWebProcesses().catch(() => [])]);
  // This process's own figures come fresh from memory: they are true even when Redis is down.
  const web = [...announced.filter((process) => process.id !== webId), webStatus()].sort((a, b) => a.id.localeCompare(b.id));
  // One clock reading for the answer and the window, so the page never sees a step the answer's time has not reached.
  const now = Date.now();
  return {
    at: new Date(now).toISOString(),
    postgres: part(health.postgres, 'PostgreSQL'),
    redis: part(health.redis, 'Redis'),
    workers: {
      ok: health.worker.ok,
      error: plainError(health.worker.error, 'the worker'),
      list: health.worker.workers.map((worker) => ({ ...worker, plainError: plainError(worker.lastError, 'PostgreSQL') })),
    },
    web: { self: webId, list: web, stream: streamWindow().snapshot(now) },
  };
}
