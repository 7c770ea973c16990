import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { createProfile, dbProfile, testCache, testPool, testRedis } from '../support/db';
import { post } from '../support/http';
import { startWorker, waitFor, type Started } from '../support/processes';

describe('no lost updates', () => {
  let pool: pg.Pool;
  let redis: Redis;
  let worker: Started;

  beforeAll(async () => {
    pool = testPool();
    redis = testRedis();
    worker = await startWorker();
  });

  afterAll(async () => {
    await worker?.stop();
    redis?.disconnect();
    await pool?.end();
  });

  it('20 concurrent clients × 50 increments give exactly 1000, in the database and in the cache', async () => {
    const start = await createProfile(pool, 'race_likes', { likes: 0 });
    const clients = Array.from({ length: 20 }, async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 50; i += 1) statuses.push((await post('race_likes', { likes: 1 })).status);
      return statuses;
    });
    const statuses = (await Promise.all(clients)).flat();
    expect(statuses).toHaveLength(1000);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);

    const committed = await dbProfile(pool, 'race_likes');
    expect(committed.likes).toBe(1000);
    // Coalesced writes share a commit, so the version rises once per commit, not per request.
    expect(committed.version).toBeGreaterThan(start.version);
    expect(committed.version).toBeLessThanOrEqual(start.version + 1000);

    const cached = await waitFor(async () => {
      const value = await testCache(redis).get('race_likes');
      return value?.version === committed.version && value;
    }, 'the cache to converge');
    expect(cached.likes).toBe(1000);
  });

  it('concurrent decrements stop exactly at zero: the rest are refused with 409', async () => {
    await createProfile(pool, 'race_floor', { followers: 30 });
    const results = await Promise.all(Array.from({ length: 50 }, () => post('race_floor', { followers: -1 })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(30);
    expect(results.filter((r) => r.status === 409)).toHaveLength(20);
    expect((await dbProfile(pool, 'race_floor')).followers).toBe(0);
  });
});
