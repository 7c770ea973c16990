import type { Redis } from 'ioredis';

// Each worker announces itself in Redis with a short TTL; /healthz reads the
// announcements, so a worker that dies simply disappears within WORKER_TTL_S.
export const WORKER_TTL_S = 15;
export const WORKER_ANNOUNCE_MS = 5_000;

export type WorkerStatus = {
  id: string;
  pid: number;
  host: string;
  startedAt: string;
  listening: boolean;
  applied: number;
  lastResync: { at: string; ms: number; profiles: number; applied: number } | null;
  lastError: string | null;
  /** Commit (the row's updatedAt) to cache write, for the last batch applied. */
  lagMs: number | null;
  /** pg_notification_queue_usage(): near 1 means a listener is stuck and NOTIFY will soon fail. */
  notificationQueueUsage: number | null;
};

const workerKey = (prefix: string, id: string) => `${prefix}worker:${id}`;

export async function announceWorker(redis: Redis, prefix: string, status: WorkerStatus): Promise<void> {
  await redis.set(workerKey(prefix, status.id), JSON.stringify(status), 'EX', WORKER_TTL_S);
}

export async function retireWorker(redis: Redis, prefix: string, id: string): Promise<void> {
  await redis.del(workerKey(prefix, id));
}

export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerStatus[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', workerKey(prefix, '*'), 'COUNT', 100);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(keys);
  return values.flatMap((value) => (value ? [JSON.parse(value) as WorkerStatus] : []));
}
