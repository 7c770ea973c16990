import { getProfileCache, type CacheEpoch } from '../cache/profile-cache';
import { logger } from '../logger';

// This web process's view of the cache's epoch (see db/migrations/0005 and
// lib/cache/gate.ts): which data the cached versions belong to, and the cache
// generation that stands for it. The worker sets it; this process learns it
// from the epoch channel at once, and from a read every few seconds
// (lib/live/pipeline.ts) in case it missed a message.

type Listener = (next: CacheEpoch, previous: CacheEpoch | null) => void;

const globalForEpoch = globalThis as unknown as {
  rippleEpoch?: { current: CacheEpoch | null; listeners: Set<Listener>; reading: Promise<CacheEpoch | null> | null };
};

function state() {
  globalForEpoch.rippleEpoch ??= { current: null, listeners: new Set(), reading: null };
  return globalForEpoch.rippleEpoch;
}

/** The epoch and generation this process believes current, or null before it knows. */
export function currentEpoch(): CacheEpoch | null {
  return state().current;
}

/**
 * The web process's current view of the cache's epoch, for pages to hand to
 * the client with the data they render; null when unknown (Redis unreachable,
 * or no worker has ever set one).
 */
export async function getEpoch(): Promise<string | null> {
  if (!state().current) await refreshEpoch().catch(() => null);
  return state().current?.epoch ?? null;
}

/**
 * Takes a newer epoch; an older one (a message that arrived late) is ignored.
 * A generation only rises, so it orders epochs even when their names repeat.
 */
export function adoptEpoch(next: CacheEpoch): void {
  const s = state();
  const previous = s.current;
  if (previous && next.generation <= previous.generation) return;
  s.current = next;
  if (previous && previous.epoch !== next.epoch) logger.info({ epoch: next.epoch, was: previous.epoch }, `live: the cache now holds epoch ${next.epoch}; open streams start over`);
  for (const listener of [...s.listeners]) listener(next, previous);
}

/** Reads the cache's epoch (one Redis call, shared by concurrent callers) and adopts it if newer. */
export function refreshEpoch(): Promise<CacheEpoch | null> {
  const s = state();
  s.reading ??= getProfileCache()
    .readEpoch()
    .then((read) => {
      if (read) adoptEpoch(read);
      return s.current;
    })
    .finally(() => {
      s.reading = null;
    });
  return s.reading;
}

/** Calls back on every newer epoch or generation; returns the unsubscribe. */
export function onEpochChange(listener: Listener): () => void {
  state().listeners.add(listener);
  return () => state().listeners.delete(listener);
}
