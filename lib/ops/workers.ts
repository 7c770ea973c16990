import type { RedisClient } from '../redis';
import { announce, ANNOUNCE_MS, ANNOUNCE_TTL_S, listAnnounced, retire } from './announcements';
import type { RollingSnapshot } from './rolling';

export const WORKER_TTL_S = ANNOUNCE_TTL_S;
export const WORKER_ANNOUNCE_MS = ANNOUNCE_MS;

export type WorkerStatus = {
  id: string;
  pid: number;
  host: string;
  startedAt: string;
  /** When this announcement was made. */
  at: string;
  listening: boolean;
  /** Notifications received from Postgres, and how many of them changed the cache. */
  received: number;
  applied: number;
  lastResync: { at: string; ms: number; profiles: number; applied: number } | null;
  lastError: string | null;
  /** Commit (the row's updatedAt) to cache write, for the last batch applied. */
  lagMs: number | null;
  lastErrorAt: string | null;
  /** pg_notification_queue_usage(): 0..1 of the server's NOTIFY queue in use, null if unknown. */
  queueUsage: number | null;
  /** The queue usage at each announcement over the last minutes. */
  queueHistory: Array<{ t: number; usage: number }>;
  /** The port serving this worker's /metrics, or null when off or taken. */
  metricsPort: number | null;
  /** Notifications over the last minutes with their commit→cache latency. */
  commitToCache: RollingSnapshot | null;
  /** Where this worker hears of changes (CHANGE_SOURCE); absent from workers older than it. */
  source?: 'notify' | 'logical';
  /** With CHANGE_SOURCE=logical: the replication slot and how far behind it is. */
  slot?: SlotStatus | null;
};

export type SlotStatus = {
  name: string;
  /** streaming: this worker reads the slot; standby: another worker does, this one waits to take over. */
  role: 'streaming' | 'standby' | 'connecting';
  /** WAL written since the slot's confirmed position (pg_current_wal_lsn() - confirmed_flush_lsn). */
  lagBytes: number | null;
  /** Age of the oldest commit received and not yet in Redis; 0 when caught up; null unless streaming. */
  lagMs: number | null;
  /** pg_replication_slots.wal_status: reserved, extended, unreserved or lost (past max_slot_wal_keep_size). */
  walStatus: string | null;
};

export async function announceWorker(redis: RedisClient, prefix: string, status: WorkerStatus): Promise<void> {
  await announce(redis, prefix, 'worker', status.id, status);
}

export async function retireWorker(redis: RedisClient, prefix: string, id: string): Promise<void> {
  await retire(redis, prefix, 'worker', id);
}

export async function listWorkers(redis: RedisClient, prefix: string): Promise<WorkerStatus[]> {
  return listAnnounced<WorkerStatus>(redis, prefix, 'worker');
}
