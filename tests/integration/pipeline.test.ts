import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Profile } from '@/lib/profile';
import { createProfile, dbProfile, testCache, testPool, testRedis } from '../support/db';
import { get, openStream } from '../support/http';
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
    // Published with the cache generation it was written under (see lib/cache/gate.ts).
    expect(published).toEqual({ ...committed, generation: expect.any(Number) });
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

  it('a deleted profile leaves the cache as a versioned tombstone, and GET answers 404', async () => {
    const created = await createProfile(pool, 'pipe_gone');
    const cache = testCache(redis);
    await waitFor(() => cache.get('pipe_gone'), 'the new profile in the cache');
    await pool.query("DELETE FROM profiles WHERE username = 'pipe_gone'");
    await waitFor(async () => (await cache.get('pipe_gone')) === null, 'the key to go');
    expect(await redis.hget(cache.key('pipe_gone'), 'version')).toBe(String(created.version));
    expect((await get('/v1/profile/pipe_gone')).status).toBe(404);
  });

  it('a profile deleted and created again in one transaction ends as the new row, in the cache and on an open stream', async () => {
    const first = await createProfile(pool, 'pipe_reborn', { likes: 4 });
    const stream = openStream('/stream?u=pipe_reborn');
    try {
      await waitFor(() => stream.profiles().some((p) => p.username === 'pipe_reborn' && p.version === first.version), 'the snapshot');
      await pool.query(`BEGIN;
        DELETE FROM profiles WHERE username = 'pipe_reborn';
        INSERT INTO profiles (username, display_name, likes) VALUES ('pipe_reborn', 'Reborn in one go', 40);
        COMMIT;`);
      const reborn = await dbProfile(pool, 'pipe_reborn');
      expect(reborn.version).toBeGreaterThan(first.version);
      await waitFor(async () => JSON.stringify(await testCache(redis).get('pipe_reborn')) === JSON.stringify(reborn), 'the cache to hold the new row', 5_000);
      await waitFor(() => JSON.stringify(stream.profiles().at(-1)) === JSON.stringify(reborn), 'the stream to end on the new row', 5_000);
      expect(await get('/v1/profile/pipe_reborn')).toMatchObject({ status: 200, body: reborn });
    } finally {
      await stream.close();
    }
  });

  it('a watched profile that is deleted sends `unknown`; created again, it comes back on the same stream', async () => {
    const first = await createProfile(pool, 'pipe_watched');
    const stream = openStream('/stream?u=pipe_watched&u=alice');
    try {
      await waitFor(() => stream.profiles().some((p) => p.username === 'pipe_watched'), 'the snapshot');
      await pool.query("DELETE FROM profiles WHERE username = 'pipe_watched'");
      const unknown = await waitFor(() => stream.events.find((e) => e.event === 'unknown'), 'the unknown event', 5_000);
      expect(JSON.parse(unknown.data)).toEqual({ usernames: ['pipe_watched'] });
      await pool.query("INSERT INTO profiles (username, display_name) VALUES ('pipe_watched', 'Back again')");
      const back = await waitFor(() => stream.profiles().find((p) => p.username === 'pipe_watched' && p.version > first.version), 'the profile back', 5_000);
      expect(back).toEqual(await dbProfile(pool, 'pipe_watched'));
    } finally {
      await stream.close();
    }
  });

  it('a read-through fill that read the row before it was deleted cannot bring it back', async () => {
    const created = await createProfile(pool, 'pipe_late');
    const cache = testCache(redis);
    await waitFor(() => cache.get('pipe_late'), 'the new profile in the cache');
    // What a slow fill holds: the row as it was, read under the current generation.
    const generation = (await cache.readEpoch())!.generation;
    await pool.query("DELETE FROM profiles WHERE username = 'pipe_late'");
    await waitFor(async () => (await cache.get('pipe_late')) === null, 'the deletion in the cache');
    expect(await cache.put(created, generation)).toBe(false);
    expect(await cache.get('pipe_late')).toBeNull();
    expect((await get('/v1/profile/pipe_late')).status).toBe(404);
  });
});
