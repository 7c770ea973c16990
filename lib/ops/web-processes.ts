import os from 'node:os';
import { announce, ANNOUNCE_MS, listAnnounced, retire } from './announcements';
import { getConfig } from '../config';
import { getRedis } from '../redis';
import type { CountSnapshot } from './rolling';
import { changesHeard, openStreams, writeWindow, type WriteOutcome } from './web-metrics';

/** Whether changes reach this process: its Redis subscription, and what its streams are told. */
export type WebLiveState = {
  subscribed: boolean;
  /** Since when the subscription has been in its current state. */
  since: string;
  error: string | null;
  pipeline: { live: boolean; reason?: string };
  epoch: string | null;
};

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
  /** Its subscription and what its streams are told; null until it has a live hub, absent from an older build. */
  live?: WebLiveState | null;
};

const startedAt = new Date().toISOString();
export const webId = `${os.hostname()}-${process.pid}`;

const globalForLiveState = globalThis as unknown as { rippleLiveState?: () => WebLiveState };

/** The live hub tells the announcement how to read its state, so this module needs no import of it. */
export function reportLiveStateWith(read: () => WebLiveState): void {
  globalForLiveState.rippleLiveState = read;
}

export function webStatus(): WebStatus {
  return {
    id: webId,
    pid: process.pid,
    host: os.hostname(),
    startedAt,
    at: new Date().toISOString(),
    openStreams: openStreams(),
    received: changesHeard(),
    writes: writeWindow().snapshot(),
    live: globalForLiveState.rippleLiveState?.() ?? null,
  };
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
