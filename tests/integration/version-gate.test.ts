import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Profile } from '@/lib/profile';
import { testCache, testRedis } from '../support/db';
import { waitFor } from '../support/processes';

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

  it('gates every profile of a batch larger than one script call, and publishes only the applied ones', async () => {
    const cache = testCache(redis);
    const names = Array.from({ length: 450 }, (_, index) => `gate_many_${index}`);
    const one = (username: string, version: number): Profile => ({ ...at(version, version), username });
    const heardMany: string[] = [];
    const listener = testRedis();
    try {
      await redis.del(...names.map(cache.key));
      await listener.subscribe(cache.channel);
      listener.on('message', (_channel, message: string) => {
        const profile = JSON.parse(message) as Profile;
        heardMany.push(`${profile.username}@${profile.version}`);
      });
      // Every third profile already holds a newer version than the batch brings.
      const newer = names.filter((_, index) => index % 3 === 0);
      expect(await cache.putMany(newer.map((name) => one(name, 10)))).toBe(newer.length);

      expect(await cache.putMany(names.map((name) => one(name, 7)))).toBe(names.length - newer.length);
      const cached = await cache.getMany(names);
      names.forEach((name, index) => expect(cached.get(name)?.version).toBe(index % 3 === 0 ? 10 : 7));
      // A message published after both batches: once it is heard, all of theirs are in.
      await redis.publish(cache.channel, JSON.stringify(one('gate_many_end', 1)));
      await waitFor(() => heardMany.includes('gate_many_end@1'), 'the closing message');
      expect(heardMany).toEqual([
        ...newer.map((name) => `${name}@10`),
        ...names.filter((_, index) => index % 3 !== 0).map((name) => `${name}@7`),
        'gate_many_end@1',
      ]);
    } finally {
      listener.disconnect();
      await redis.del(...names.map(cache.key));
    }
  });

  it('keeps the newest when many writers race with shuffled versions', async () => {
    const cache = testCache(redis);
    const versions = Array.from({ length: 200 }, (_, index) => 100 + index).sort(() => Math.random() - 0.5);
    await Promise.all(versions.map((version) => cache.put(at(version, version))));
    expect((await cache.get('gate_user'))?.version).toBe(299);
  });
});
