import os from 'node:os';
import { announce, ANNOUNCE_MS, listAnnounced, retire } from './announcements';
import { getConfig } from '../config';
import { getRedis } from '../redis';
import type { CountSnapshot } from './rolling';
import { changesHeard, openStreams, writeWindow, type WriteOutcome } from './web-metrics';

export type WebStatus = {
  id: string;
  pid: number;
  host: string;
  startedAt: string;
  at: string;
  openStreams: number;
  /** Changes received from Redis since this process started. */
  received: number;
  /** Writes (POSTs) this process answered over the last minutes, by outcome. */
  writes: CountSnapshot<WriteOutcome>;
};

const startedAt = new Date().toISOString();
export const webId = `${os.hostname()}-${process.pid}`;

export function webStatus(): WebStatus {
  return { id: webId, pid: process.pid, host: os.hostname(), startedAt, at: new Date().toISOString(), openStreams: openStreams(), received: changesHeard(), writes: writeWindow().snapshot() };
}

export async function announceWeb(): Promise<void> {
  await announce(getRedis(), getConfig().REDIS_PREFIX, 'web', webId, webStatus());
}

const globalForAnnouncer = globalThis as unknown as { rippleWebAnnouncer?: NodeJS.Timeout };

/** Keeps this web process on the status page; a process that dies drops off by TTL. */
export function startWebAnnouncer(): void {
  if (globalForAnnouncer.rippleWebAnnouncer) return;
  const timer = setInterval(() => void announceWeb().catch(() => undefined), ANNOUNCE_MS);
  timer.unref?.();
  globalForAnnouncer.rippleWebAnnouncer = timer;
  void announceWeb().catch(() => undefined);
}

/** Leaves the status page at once (on SIGTERM) instead of after the TTL. */
export async function retireWeb(): Promise<void> {
  const timer = globalForAnnouncer.rippleWebAnnouncer;
  if (timer) clearInterval(timer);
  await retire(getRedis(), getConfig().REDIS_PREFIX, 'web', webId);
}

export async function listWebProcesses(): Promise<WebStatus[]> {
  return listAnnounced<WebStatus>(getRedis(), getConfig().REDIS_PREFIX, 'web');
}
