import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Profile } from '@/lib/profile';
import { testCache, testRedis } from '../support/db';

const at = (version: number, likes: number): Profile => ({
  username: 'gate_user',
  displayName: 'Gate',
  bio: '',
  followers: 0,
  followings: 0,
  likes,
  version,
  updatedAt: '2026-11-28T00:00:00.000Z',
});

describe('the version gate in Redis', () => {
  let redis: Redis;
  let subscriber: Redis;
  const heard: number[] = [];

  beforeAll(async () => {
    redis = testRedis();
    subscriber = testRedis();
    const cache = testCache(redis);
    await redis.del(cache.key('gate_user'));
    await subscriber.subscribe(cache.channel);
    subscriber.on('message', (_channel, message: string) => {
      const profile = JSON.parse(message) as Profile;
      if (profile.username === 'gate_user') heard.push(profile.version);
    });
  });

  afterAll(async () => {
    await redis.del(testCache(redis).key('gate_user'));
    subscriber.disconnect();
    redis.disconnect();
  });

  it('never lets an older or equal version overwrite a newer one, and publishes only what it applied', async () => {
    const cache = testCache(redis);
    expect(await cache.put(at(5, 50))).toBe(true);
    expect(await cache.put(at(3, 30))).toBe(false);
    expect(await cache.put(at(5, 99))).toBe(false);
    expect(await cache.putMany([at(4, 40), at(2, 20)])).toBe(0);
    expect(await cache.get('gate_user')).toEqual(at(5, 50));

    expect(await cache.put(at(6, 60))).toBe(true);
    expect(await cache.get('gate_user')).toEqual(at(6, 60));

    // A round trip on the subscriber's connection: every earlier message has arrived.
    await redis.publish(cache.channel, JSON.stringify(at(1000, 0)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard).toEqual([5, 6, 1000]);
  });

  it('keeps the newest when many writers race with shuffled versions', async () => {
    const cache = testCache(redis);
    const versions = Array.from({ length: 200 }, (_, index) => 100 + index).sort(() => Math.random() - 0.5);
    await Promise.all(versions.map((version) => cache.put(at(version, version))));
    expect((await cache.get('gate_user'))?.version).toBe(299);
  });
});
