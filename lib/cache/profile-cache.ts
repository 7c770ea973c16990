import type { ChainableCommander, Redis } from 'ioredis';
import { getConfig } from '../config';
import { profileSchema, type Profile } from '../profile';
import { getRedis, scanKeys } from '../redis';

// The version gate. Check and write happen in one script so no other writer can
// slip in between; it PUBLISHes only what it applied, so subscribers never hear
// a value that the cache refused. One call gates many profiles: with one call
// per profile, per-command overhead was most of what a resync cost.
// KEYS profile hashes; ARGV[1] channel, then a version and a JSON per key.
// Returns how many it applied.
const PUT_IF_NEWER = `
local applied = 0
for i, key in ipairs(KEYS) do
  local version = ARGV[2 * i]
  local current = redis.call('HGET', key, 'version')
  if not current or tonumber(current) < tonumber(version) then
    redis.call('HSET', key, 'version', version, 'data', ARGV[2 * i + 1])
    redis.call('PUBLISH', ARGV[1], ARGV[2 * i + 1])
    applied = applied + 1
  end
end
return applied
`;

// Keys per script call: Redis runs one script at a time, and a call this size
// holds it for about a millisecond.
const KEYS_PER_CALL = 200;

/** A profile as the cache stores it: already serialised, e.g. straight from Postgres. */
export type EncodedProfile = { username: string; version: number | string; json: string };

type GatedPipeline = ChainableCommander & {
  putIfNewer(keyCount: number, ...keysAndArgs: (string | number)[]): ChainableCommander;
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
  if (!('putIfNewer' in redis)) {
    // defineCommand sends EVALSHA and falls back to EVAL after a Redis restart or SCRIPT FLUSH.
    redis.defineCommand('putIfNewer', { lua: PUT_IF_NEWER });
  }
  const key = (username: string) => `${prefix}profile:${username}`;
  const channel = `${prefix}profile-changes`;
  const encoded = (profile: Profile): EncodedProfile => ({ username: profile.username, version: profile.version, json: encodeProfile(profile) });

  async function putEncoded(profiles: EncodedProfile[]): Promise<number> {
    if (profiles.length === 0) return 0;
    const pipeline = redis.pipeline() as GatedPipeline;
    for (let start = 0; start < profiles.length; start += KEYS_PER_CALL) {
      const chunk = profiles.slice(start, start + KEYS_PER_CALL);
      const args: (string | number)[] = chunk.map((profile) => key(profile.username));
      args.push(channel);
      for (const profile of chunk) args.push(profile.version, profile.json);
      pipeline.putIfNewer(chunk.length, ...args);
    }
    let applied = 0;
    for (const [error, value] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      applied += Number(value);
    }
    return applied;
  }

  return {
    channel,
    key,

    /** Writes the profile unless the cache already holds this version or a newer one. */
    async put(profile: Profile): Promise<boolean> {
      return (await putEncoded([encoded(profile)])) === 1;
    },

    /** One round trip for many profiles; returns how many were newer than the cache. */
    putMany(profiles: Profile[]): Promise<number> {
      return putEncoded(profiles.map(encoded));
    },

    /** putMany for profiles already serialised, as resync reads them from Postgres. */
    putEncoded,

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
