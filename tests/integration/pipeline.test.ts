import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Profile } from '@/lib/profile';
import { createProfile, dbProfile, testCache, testPool, testRedis } from '../support/db';
import { startWorker, waitFor, type Started } from '../support/processes';

describe('a committed change reaches Redis through the real worker', () => {
  let pool: pg.Pool;
  let redis: Redis;
  let subscriber: Redis;
  let worker: Started;
  const heard: Profile[] = [];

  beforeAll(async () => {
    pool = testPool();
    redis = testRedis();
    subscriber = testRedis();
    await subscriber.subscribe(testCache(redis).channel);
    subscriber.on('message', (_channel, message: string) => heard.push(JSON.parse(message) as Profile));
    worker = await startWorker();
  });

  afterAll(async () => {
    await worker?.stop();
    subscriber?.disconnect();
    redis?.disconnect();
    await pool?.end();
  });

  it('an UPDATE made by hand in SQL is cached and published with its version', async () => {
    await createProfile(pool, 'pipe_sql', { likes: 3 });
    await pool.query("UPDATE profiles SET likes = likes + 5 WHERE username = 'pipe_sql'");
    const committed = await dbProfile(pool, 'pipe_sql');
    expect(committed.likes).toBe(8);

    const cache = testCache(redis);
    const cached = await waitFor(async () => {
      const value = await cache.get('pipe_sql');
      return value?.version === committed.version && value;
    }, 'the cache to hold the committed version');
    expect(cached).toEqual(committed);

    const published = await waitFor(() => heard.find((p) => p.username === 'pipe_sql' && p.version === committed.version), 'the publish');
    expect(published).toEqual(committed);
  });

  it('a rolled-back change is never published', async () => {
    await createProfile(pool, 'pipe_rollback', { likes: 1 });
    const before = await dbProfile(pool, 'pipe_rollback');
    const client = await pool.connect();
    await client.query('BEGIN');
    await client.query("UPDATE profiles SET likes = likes + 100 WHERE username = 'pipe_rollback'");
    await client.query('ROLLBACK');
    client.release();
    // A change after the rollback proves the worker has processed everything before it.
    await pool.query("UPDATE profiles SET followers = followers + 1 WHERE username = 'pipe_rollback'");
    const after = await dbProfile(pool, 'pipe_rollback');
    await waitFor(() => heard.find((p) => p.username === 'pipe_rollback' && p.version === after.version), 'the later publish');
    expect(after.likes).toBe(before.likes);
    expect(heard.filter((p) => p.username === 'pipe_rollback').every((p) => p.likes === 1)).toBe(true);
  });

  it('a deleted profile leaves the cache', async () => {
    await createProfile(pool, 'pipe_gone');
    const cache = testCache(redis);
    await waitFor(() => cache.get('pipe_gone'), 'the new profile in the cache');
    await pool.query("DELETE FROM profiles WHERE username = 'pipe_gone'");
    await waitFor(async () => (await cache.get('pipe_gone')) === null, 'the key to go');
  });
});
