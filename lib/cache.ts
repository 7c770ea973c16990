import type { ChainableCommander, Redis } from 'ioredis';
import { getConfig } from './config';
import { profileSchema, type Profile } from './profile';
import { getRedis, scanKeys } from './redis';

// The version gate. Check and write happen in one script so no other writer can
// slip in between; it PUBLISHes only when it applied, so subscribers never hear
// a value that the cache refused.
// KEYS[1] profile hash; ARGV[1] version; ARGV[2] profile JSON; ARGV[3] channel.
const PUT_IF_NEWER = `
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'data', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return 1
`;

type GatedRedis = Redis & {
  putIfNewer(key: string, version: number, json: string, channel: string): Promise<number>;
};
type GatedPipeline = ChainableCommander & {
  putIfNewer(key: string, version: number, json: string, channel: string): ChainableCommander;
};

export function encodeProfile(profile: Profile): string {
  return JSON.stringify(profile);
}

/** A cached or published profile, or null when the text is not one (treated as a miss). */
export function decodeProfile(text: string | null | undefined): Profile | null {
  if (!text) return null;
  try {
    const parsed = profileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export type ProfileCache = ReturnType<typeof createProfileCache>;

export function createProfileCache(redis: Redis, prefix: string) {
  const gated = redis as GatedRedis;
  if (!('putIfNewer' in gated)) {
    // defineCommand sends EVALSHA and falls back to EVAL after a Redis restart or SCRIPT FLUSH.
    redis.defineCommand('putIfNewer', { numberOfKeys: 1, lua: PUT_IF_NEWER });
  }
  const key = (username: string) => `${prefix}profile:${username}`;
  const channel = `${prefix}profile-changes`;

  return {
    channel,
    key,

    /** Writes the profile unless the cache already holds this version or a newer one. */
    async put(profile: Profile): Promise<boolean> {
      return (await gated.putIfNewer(key(profile.username), profile.version, encodeProfile(profile), channel)) === 1;
    },

    /** One round trip for many profiles; returns how many were newer than the cache. */
    async putMany(profiles: Profile[]): Promise<number> {
      if (profiles.length === 0) return 0;
      const pipeline = redis.pipeline() as GatedPipeline;
      for (const profile of profiles) pipeline.putIfNewer(key(profile.username), profile.version, encodeProfile(profile), channel);
      const results = (await pipeline.exec()) ?? [];
      let applied = 0;
      for (const [error, value] of results) {
        if (error) throw error;
        if (value === 1) applied += 1;
      }
      return applied;
    },

    async get(username: string): Promise<Profile | null> {
      return decodeProfile(await redis.hget(key(username), 'data'));
    },

    async getMany(usernames: string[]): Promise<Map<string, Profile>> {
      const found = new Map<string, Profile>();
      if (usernames.length === 0) return found;
      const pipeline = redis.pipeline();
      for (const username of usernames) pipeline.hget(key(username), 'data');
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([error, value], index) => {
        const profile = error ? null : decodeProfile(value as string | null);
        if (profile) found.set(usernames[index], profile);
      });
      return found;
    },

    async remove(username: string): Promise<void> {
      await redis.del(key(username));
    },

    /** Every username the cache holds, a page at a time. */
    async *usernames(): AsyncGenerator<string[]> {
      const start = `${prefix}profile:`.length;
      for await (const keys of scanKeys(redis, `${prefix}profile:*`, 1_000)) yield keys.map((cached) => cached.slice(start));
    },
  };
}

const globalForCache = globalThis as unknown as { rippleProfileCache?: ProfileCache };

/** The process's cache over its one command client. */
export function getProfileCache(): ProfileCache {
  globalForCache.rippleProfileCache ??= createProfileCache(getRedis(), getConfig().REDIS_PREFIX);
  return globalForCache.rippleProfileCache;
}
