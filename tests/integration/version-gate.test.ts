import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Profile } from '@/lib/profile';
import { createProfileCache } from '@/lib/cache/profile-cache';
import { deleteKeysWithPrefix } from '@/lib/redis';
import { testCache, testRedis } from '../support/db';
import { TEST_REDIS_PREFIX } from '../support/env';
import { waitFor } from '../support/processes';

// A cache generation of the test's own: these keys are never read by a web process.
const GEN = 1_000;

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
    expect(await cache.put(at(5, 50), GEN)).toBe(true);
    expect(await cache.put(at(3, 30), GEN)).toBe(false);
    expect(await cache.put(at(5, 99), GEN)).toBe(false);
    expect(await cache.putMany([at(4, 40), at(2, 20)], GEN)).toBe(0);
    expect(await cache.get('gate_user')).toEqual(at(5, 50));

    expect(await cache.put(at(6, 60), GEN)).toBe(true);
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
      expect(await cache.putMany(newer.map((name) => one(name, 10)), GEN)).toBe(newer.length);

      expect(await cache.putMany(names.map((name) => one(name, 7)), GEN)).toBe(names.length - newer.length);
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
    await Promise.all(versions.map((version) => cache.put(at(version, version), GEN)));
    expect((await cache.get('gate_user'))?.version).toBe(299);
  });
});

describe('deletions, missing names and epochs go through the same gate', () => {
  let redis: Redis;
  let subscriber: Redis;
  const heard: Array<Record<string, unknown>> = [];
  const epochs: Array<{ epoch: string; generation: number }> = [];
  const names = ['gate_del', 'gate_none', 'gate_gen', 'gate_ttl', 'gate_ahead'];
  const profileOf = (username: string, version: number): Profile => ({ ...at(version, version), username });
  // Its own prefix: this test moves the epoch, which the suite's web server must never see.
  const prefix = `${TEST_REDIS_PREFIX}gate-epoch:`;

  beforeAll(async () => {
    redis = testRedis();
    subscriber = testRedis();
    const cache = testCache(redis);
    await redis.del(...names.map(cache.key));
    await subscriber.subscribe(cache.channel, createProfileCache(redis, prefix).epochChannel);
    subscriber.on('message', (channel, message: string) => {
      if (channel === cache.channel) heard.push(JSON.parse(message));
      else epochs.push(JSON.parse(message));
    });
  });

  afterAll(async () => {
    await redis.del(...names.map(testCache(redis).key));
    await deleteKeysWithPrefix(redis, prefix);
    subscriber.disconnect();
    redis.disconnect();
  });

  const settle = async (cache: ReturnType<typeof testCache>) => {
    const token = `settle-${Math.random()}`;
    await redis.publish(cache.channel, JSON.stringify({ token }));
    await waitFor(() => heard.some((message) => message.token === token), 'the closing message');
  };

  it('a deletion at v replaces the row at v, refuses any late write of v or older, and loses to the row created again at v+1', async () => {
    const cache = testCache(redis);
    expect(await cache.put(profileOf('gate_del', 5), GEN)).toBe(true);
    expect((await cache.write([{ username: 'gate_del', version: 5, missing: true }], GEN)).applied).toBe(1);
    expect(await cache.get('gate_del')).toBeNull();
    expect((await cache.read(['gate_del'], GEN)).known.get('gate_del')).toEqual({ username: 'gate_del', version: 5, missing: true });
    // A slow read-through fill or a late resync page of the deleted row.
    expect(await cache.put(profileOf('gate_del', 5), GEN)).toBe(false);
    expect(await cache.put(profileOf('gate_del', 4), GEN)).toBe(false);
    // The same deletion again changes nothing and is not published twice.
    expect((await cache.write([{ username: 'gate_del', version: 5, missing: true }], GEN)).applied).toBe(0);
    expect(await cache.put(profileOf('gate_del', 6), GEN)).toBe(true);
    expect((await cache.read(['gate_del'], GEN)).known.get('gate_del')).toEqual(profileOf('gate_del', 6));
    // A row keeps no expiry; a marker does.
    expect(await redis.pttl(cache.key('gate_del'))).toBe(-1);
    await settle(cache);
    const mine = heard.filter((message) => message.username === 'gate_del');
    expect(mine.map((message) => [message.version, message.deleted ?? false, message.generation])).toEqual([
      [5, false, GEN],
      [5, true, GEN],
      [6, false, GEN],
    ]);
  });

  it('a name that never existed is remembered at version 0, unpublished, and any real version replaces it', async () => {
    const cache = testCache(redis);
    expect((await cache.write([{ username: 'gate_none', version: 0, missing: true }], GEN)).applied).toBe(1);
    expect((await cache.read(['gate_none'], GEN)).known.get('gate_none')).toEqual({ username: 'gate_none', version: 0, missing: true });
    expect(await redis.pttl(cache.key('gate_none'))).toBeGreaterThan(0);
    expect(await cache.put(profileOf('gate_none', 1), GEN)).toBe(true);
    // A fill that read "missing" before the row was created arrives late: refused.
    expect((await cache.write([{ username: 'gate_none', version: 0, missing: true }], GEN)).applied).toBe(0);
    expect((await cache.read(['gate_none'], GEN)).known.get('gate_none')).toEqual(profileOf('gate_none', 1));
    await settle(cache);
    expect(heard.filter((message) => message.username === 'gate_none').map((message) => message.version)).toEqual([1]);
  });

  it('a marker expires after its TTL; a row never does', async () => {
    const cache = createProfileCache(redis, TEST_REDIS_PREFIX, { missingTtlMs: 200 });
    await cache.write([{ username: 'gate_ttl', version: 3, missing: true }], GEN);
    await waitFor(async () => (await redis.exists(cache.key('gate_ttl'))) === 0, 'the marker to expire', 2_000);
  });

  it('a newer generation replaces any version; an older one is refused and reports the newer one; reads see only their own', async () => {
    const cache = testCache(redis);
    expect(await cache.put(profileOf('gate_gen', 9), GEN)).toBe(true);
    const next = GEN + 1;
    expect(await cache.put(profileOf('gate_gen', 2), next)).toBe(true);
    const late = await cache.write([{ username: 'gate_gen', version: 10, json: JSON.stringify(profileOf('gate_gen', 10)) }], GEN);
    expect(late).toMatchObject({ applied: 0, newestGeneration: next });
    expect((await cache.read(['gate_gen'], next)).known.get('gate_gen')).toEqual(profileOf('gate_gen', 2));
    // A reader still on the old generation treats it as unknown and learns it is behind.
    expect(await cache.read(['gate_gen'], GEN)).toEqual({ known: new Map(), newer: true });
  });

  it('reports rows the cache holds at a higher version than offered (how a resync notices versions moved back)', async () => {
    const cache = testCache(redis);
    await cache.put(profileOf('gate_ahead', 8), GEN);
    const result = await cache.write([{ username: 'gate_ahead', version: 3, json: JSON.stringify(profileOf('gate_ahead', 3)) }], GEN);
    expect(result).toEqual({ applied: 0, newestGeneration: GEN, ahead: [{ username: 'gate_ahead', cached: 8, offered: 3 }] });
  });

  it('adopting an epoch keeps its generation while it stays, and starts a larger one, published, when it changes', async () => {
    const cache = createProfileCache(redis, prefix);
    const first = await cache.adoptEpoch('1.1.1.1.0');
    expect(first.changed).toBe(true);
    expect(await cache.adoptEpoch('1.1.1.1.0')).toEqual({ generation: first.generation, changed: false });
    const second = await cache.adoptEpoch('1.1.1.1.1');
    expect(second.changed).toBe(true);
    expect(second.generation).toBeGreaterThan(first.generation);
    expect(await cache.readEpoch()).toEqual({ epoch: '1.1.1.1.1', generation: second.generation });
    // Even after the key is lost (FLUSHALL), the next generation is larger: it comes from the Redis clock.
    await redis.del(cache.epochKey);
    const third = await cache.adoptEpoch('1.1.1.1.1');
    expect(third.generation).toBeGreaterThan(second.generation);
    await waitFor(() => epochs.length >= 3, 'the epoch messages');
    expect(epochs.map((message) => message.generation)).toEqual([first.generation, second.generation, third.generation]);
    await expect(cache.adoptEpoch('"}; evil')).rejects.toThrow(/not an epoch/);
  });
});
