import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { allDbProfiles, createProfile, deleteKeys, testCache, testPool, testRedis } from '../support/db';
import { openStream, post } from '../support/http';
import { startWorker, waitFor } from '../support/processes';

async function cacheEqualsDatabase(pool: pg.Pool, redis: Redis): Promise<boolean> {
  const profiles = await allDbProfiles(pool);
  const cached = await testCache(redis).getMany(profiles.map((p) => p.username));
  return profiles.every((profile) => JSON.stringify(cached.get(profile.username)) === JSON.stringify(profile));
}

describe('the cache converges after the worker was away', () => {
  let pool: pg.Pool;
  let redis: Redis;

  beforeAll(() => {
    pool = testPool();
    redis = testRedis();
  });

  afterAll(async () => {
    redis.disconnect();
    await pool.end();
  });

  it('changes made while the worker was down appear once it is back, with no other step', async () => {
    await createProfile(pool, 'away_user', { likes: 10 });
    const first = await startWorker();
    await waitFor(() => cacheEqualsDatabase(pool, redis), 'the first sync');
    const stream = openStream('/stream?u=away_user');
    await waitFor(() => stream.profiles().length > 0, 'the stream snapshot');
    await first.kill();

    for (let i = 0; i < 5; i += 1) expect((await post('away_user', { likes: 1 })).status).toBe(200);
    await pool.query("UPDATE profiles SET followers = followers + 7 WHERE username IN ('alice', 'bob')");
    // The cache still holds the old values: nobody was listening.
    expect((await testCache(redis).get('away_user'))?.likes).toBe(10);

    const second = await startWorker();
    try {
      await waitFor(() => cacheEqualsDatabase(pool, redis), 'the cache to equal the database after reconnect', 5_000);
      expect((await testCache(redis).get('away_user'))?.likes).toBe(15);
      // The open stream catches up on its own: the resync's publish reaches it.
      await waitFor(() => stream.profiles().some((p) => p.likes === 15), 'the stream to show the missed changes', 5_000);
      const versions = stream.profiles().map((p) => p.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    } finally {
      await stream.close();
      await second.stop();
    }
  });

  it('a profile deleted and created again while the worker was down converges (versions continue)', async () => {
    const original = await createProfile(pool, 'reborn_user', { likes: 1 });
    const first = await startWorker();
    await pool.query("UPDATE profiles SET likes = likes + 1 WHERE username = 'reborn_user'");
    await waitFor(async () => (await testCache(redis).get('reborn_user'))?.version === original.version + 1, 'the update in the cache');
    await first.kill();

    await pool.query("DELETE FROM profiles WHERE username = 'reborn_user'");
    await pool.query("INSERT INTO profiles (username, display_name, likes) VALUES ('reborn_user', 'Reborn', 0)");
    const second = await startWorker();
    try {
      await waitFor(() => cacheEqualsDatabase(pool, redis), 'the recreated profile in the cache', 5_000);
      expect((await testCache(redis).get('reborn_user'))?.displayName).toBe('Reborn');
    } finally {
      await second.stop();
    }
  });

  it('a profile deleted while the worker was down leaves the cache on the next resync', async () => {
    await createProfile(pool, 'gone_user');
    const first = await startWorker();
    await waitFor(() => testCache(redis).get('gone_user'), 'the profile in the cache');
    await first.kill();
    await pool.query("DELETE FROM profiles WHERE username = 'gone_user'");
    const second = await startWorker();
    try {
      await waitFor(async () => (await testCache(redis).get('gone_user')) === null, 'the orphan to be removed', 5_000);
    } finally {
      await second.stop();
    }
  });

  it('an emptied cache is refilled by the worker on start', async () => {
    await deleteKeys(redis);
    const worker = await startWorker();
    try {
      await waitFor(() => cacheEqualsDatabase(pool, redis), 'the refill', 5_000);
    } finally {
      expect(await worker.stop()).toBe(0);
    }
  });
});
