import { isCluster, type RedisClient } from '../redis';

type Count = { pending: number; known: number };

/**
 * A generous per-client read limit shared by every web process, without a Redis
 * round trip per request. Each process counts locally and adds its counts to
 * one Redis counter per client and window every flushMs; a client is refused
 * once the total it last heard plus its own unsent count reaches the window's
 * limit. Across P processes a client can overshoot by what P processes admit
 * in one flush interval: fine for a limit meant to stop floods, not to meter.
 * If Redis is down the count stays per process (fails open across processes).
 */
export class ReadLimiter {
  private window = -1;
  private counts = new Map<string, Count>();
  private flushing: NodeJS.Timeout | null = null;
  private readonly limit: number;

  constructor(
    private readonly redis: () => RedisClient,
    private readonly prefix: string,
    perSecond: number,
    private readonly windowS = 10,
    private readonly flushMs = 100,
  ) {
    this.limit = Math.max(1, Math.floor(perSecond * windowS));
  }

  /** Counts one read; returns 0 when allowed, else the seconds until the client may read again. */
  take(client: string, now = Date.now()): number {
    const window = Math.floor(now / (this.windowS * 1000));
    if (window !== this.window) {
      this.window = window;
      this.counts = new Map();
    }
    let count = this.counts.get(client);
    if (!count) this.counts.set(client, (count = { pending: 0, known: 0 }));
    if (count.known + count.pending >= this.limit) return Math.max(1, Math.ceil(((window + 1) * this.windowS * 1000 - now) / 1000));
    count.pending += 1;
    this.schedule();
    return 0;
  }

  private async flush(): Promise<void> {
    this.flushing = null;
    const window = this.window;
    const counts = this.counts;
    const sending = [...counts].filter(([, count]) => count.pending > 0).map(([client, count]) => ({ client, count, sent: count.pending }));
    if (sending.length === 0) return;
    const redis = this.redis();
    const keyOf = (client: string) => `${this.prefix}readlimit:${window}:${client}`;
    const ttlMs = this.windowS * 2_000;
    let results: Array<[Error | null, unknown]> | null;
    try {
      if (isCluster(redis)) {
        // Clients' keys live on different nodes: one command each, none waiting for another.
        results = await Promise.all(
          sending.map(async ({ client, sent }): Promise<[Error | null, unknown]> => {
            const [total] = await Promise.all([redis.incrby(keyOf(client), sent), redis.pexpire(keyOf(client), ttlMs)]);
            return [null, total];
          }),
        );
      } else {
        const pipeline = redis.pipeline();
        for (const { client, sent } of sending) pipeline.incrby(keyOf(client), sent).pexpire(keyOf(client), ttlMs);
        results = ((await pipeline.exec()) ?? []).filter((_, index) => index % 2 === 0);
      }
    } catch {
      // Redis is down: keep counting here; the next flush tries again.
      return;
    }
    sending.forEach(({ count, sent }, index) => {
      const [error, total] = results?.[index] ?? [new Error('no reply'), null];
      if (error || typeof total !== 'number') return;
      // What was sent is now in the total; what arrived meanwhile stays pending.
      count.pending -= sent;
      count.known = total;
    });
    if (counts === this.counts && sending.some(({ count }) => count.pending > 0)) this.schedule();
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = setTimeout(() => void this.flush(), this.flushMs);
    this.flushing.unref();
  }
}
