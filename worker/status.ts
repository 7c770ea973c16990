import os from 'node:os';
import type { RedisClient } from '../lib/redis';
import type pg from 'pg';
import { announceWorker, retireWorker, type WorkerStatus } from '../lib/ops/workers';
import type { CacheWriter } from './cache-writer';
import type { LogicalSource } from './logical-source';
import { workerMetrics } from './metrics';

/**
 * What this worker tells the world every few seconds: its health, its counts,
 * the NOTIFY queue's fill level and a rolling window of commit→cache latency.
 * The status page reads it from Redis; /metrics serves the same figures.
 */
export class WorkerReporter {
  readonly status: WorkerStatus;
  private retired = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly pool: pg.Pool,
    private readonly prefix: string,
    private readonly writer: CacheWriter,
    private readonly logical: LogicalSource | null = null,
  ) {
    this.status = {
      id: `${os.hostname()}-${process.pid}`,
      pid: process.pid,
      host: os.hostname(),
      startedAt: new Date().toISOString(),
      at: new Date().toISOString(),
      listening: false,
      received: 0,
      applied: 0,
      lastResync: null,
      lastError: null,
      lastErrorAt: null,
      lagMs: null,
      queueUsage: null,
      queueHistory: [],
      metricsPort: null,
      commitToCache: null,
      source: logical ? 'logical' : 'notify',
      slot: null,
    };
  }

  setListening(listening: boolean): void {
    this.status.listening = listening;
    workerMetrics.listening().set(listening ? 1 : 0);
  }

  /** Reads the queue usage, then announces; never throws (a down Redis or Postgres is reported elsewhere). */
  async announce(): Promise<void> {
    const { writer } = this;
    if (this.retired) return;
    this.status.queueUsage = await this.queueUsage();
    if (this.logical) this.status.slot = await this.logical.status();
    if (this.status.queueUsage !== null) {
      this.status.queueHistory.push({ t: Date.now(), usage: this.status.queueUsage });
      // Keep the same few minutes as the latency window.
      const oldest = Date.now() - writer.window.windowS * 1000;
      while (this.status.queueHistory[0].t < oldest) this.status.queueHistory.shift();
    }
    Object.assign(this.status, {
      at: new Date().toISOString(),
      received: writer.received,
      applied: writer.applied,
      lastResync: writer.lastResync,
      lastError: writer.lastError,
      lastErrorAt: writer.lastErrorAt,
      lagMs: writer.lagMs,
      commitToCache: writer.window.snapshot(),
    });
    // An announcement still in flight at shutdown must not bring the key back.
    if (this.retired) return;
    await announceWorker(this.redis, this.prefix, this.status).catch(() => undefined);
  }

  async retire(): Promise<void> {
    this.retired = true;
    await retireWorker(this.redis, this.prefix, this.status.id).catch(() => undefined);
  }

  // Notifications wait in this server-wide queue until every listener has read
  // them; a queue that fills up makes NOTIFY (and so every write) fail.
  private async queueUsage(): Promise<number | null> {
    try {
      const { rows } = await this.pool.query<{ usage: number }>('SELECT pg_notification_queue_usage() AS usage');
      const usage = Number(rows[0]?.usage ?? 0);
      workerMetrics.queueUsage().set(usage);
      return usage;
    } catch {
      return null;
    }
  }
}
