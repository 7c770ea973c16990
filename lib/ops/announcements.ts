import type { Redis } from 'ioredis';
import { scanKeys } from '../redis';

// Each process (worker or web) announces its status in Redis with a short TTL;
// the status page and /healthz read them, so a process that dies simply
// disappears within ANNOUNCE_TTL_S, with no registry to clean up.
export const ANNOUNCE_TTL_S = 15;
export const ANNOUNCE_MS = 5_000;

export type ProcessKind = 'worker' | 'web';

const key = (prefix: string, kind: ProcessKind, id: string) => `${prefix}${kind}:${id}`;

export async function announce(redis: Redis, prefix: string, kind: ProcessKind, id: string, status: unknown): Promise<void> {
  await redis.set(key(prefix, kind, id), JSON.stringify(status), 'EX', ANNOUNCE_TTL_S);
}

export async function retire(redis: Redis, prefix: string, kind: ProcessKind, id: string): Promise<void> {
  await redis.del(key(prefix, kind, id));
}

export async function listAnnounced<T>(redis: Redis, prefix: string, kind: ProcessKind): Promise<T[]> {
  const keys: string[] = [];
  for await (const batch of scanKeys(redis, key(prefix, kind, '*'), 100)) keys.push(...batch);
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values.flatMap((value) => (value ? [JSON.parse(value) as T] : [])).sort((a, b) => String((a as { id: string }).id).localeCompare((b as { id: string }).id));
}
