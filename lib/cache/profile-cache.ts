import type { ChainableCommander } from 'ioredis';
import { getConfig } from '../config';
import { profileSchema, type Profile } from '../profile';
import { getRedis, isCluster, scanKeys, unlinkKeys, type RedisClient } from '../redis';
import { ADOPT_EPOCH, PUT_IF_NEWER } from './gate';
import { createKeyspace } from './keyspace';

// Keys per script call: Redis runs one script at a time, and a call this size
// holds it for about a millisecond.
const KEYS_PER_CALL = 200;

/** A profile as the cache stores it: already serialised, e.g. straight from Postgres. */
export type EncodedProfile = { username: string; version: number | string; json: string };

/** "No such profile as of this version": a deletion (its last version), or 0 for a name that never existed. */
export type Missing = { username: string; version: number; missing: true };

export type CacheWrite = EncodedProfile | Missing;

/** What the cache knows about a name: its profile, that it is missing, or (absent from the map) nothing. */
export type Known = Profile | Missing;

export type WriteResult = {
  applied: number;
  /** The newest cache generation a refused write met: larger than the one written means another epoch has begun. */
  newestGeneration: number;
  /** Profiles the cache holds at a higher version than the one offered, with that cached version. */
  ahead: Array<{ username: string; cached: number; offered: number }>;
};

export type CacheEpoch = { epoch: string; generation: number };

type GatedPipeline = ChainableCommander & {
  putIfNewer(keyCount: number, ...keysAndArgs: (string | number)[]): ChainableCommander;
};
type GatedRedis = RedisClient & {
  putIfNewer(keyCount: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  adoptEpoch(keyCount: number, ...keysAndArgs: string[]): Promise<[number, number]>;
};
type Reply = [Error | null, unknown];

export function isMissing(known: Known | undefined): known is Missing {
  return (known as Missing | undefined)?.missing === true;
}

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

/**
 * What the gate publishes on the profile channel. The generation is null only
 * from a worker older than the epoch (a rolling upgrade): its changes are
 * still true, just not orderable across epochs.
 */
export type CacheMessage =
  | { generation: number | null; profile: Profile }
  | { generation: number; deleted: { username: string; version: number } };

export function decodeMessage(text: string): CacheMessage | null {
  try {
    const value = JSON.parse(text) as { generation?: unknown; deleted?: unknown; username?: unknown; version?: unknown };
    if (typeof value.generation !== 'number') {
      const parsed = profileSchema.safeParse(value);
      return parsed.success ? { generation: null, profile: parsed.data } : null;
    }
    if (value.deleted === true) {
      if (typeof value.username !== 'string' || typeof value.version !== 'number') return null;
      return { generation: value.generation, deleted: { username: value.username, version: value.version } };
    }
    const parsed = profileSchema.safeParse(value);
    return parsed.success ? { generation: value.generation, profile: parsed.data } : null;
  } catch {
    return null;
  }
}

export type ProfileCache = ReturnType<typeof createProfileCache>;

export function createProfileCache(redis: RedisClient, prefix: string, { missingTtlMs = getConfig().CACHE_MISSING_TTL_MS } = {}) {
  if (!('putIfNewer' in redis)) {
    // defineCommand sends EVALSHA and falls back to EVAL after a Redis restart or SCRIPT FLUSH.
    redis.defineCommand('putIfNewer', { lua: PUT_IF_NEWER });
    redis.defineCommand('adoptEpoch', { lua: ADOPT_EPOCH });
  }
  const cluster = isCluster(redis);
  const keyspace = createKeyspace(prefix, cluster);
  const { epochKey, epochChannel } = keyspace;
  const key = keyspace.profileKey;
  const keyPrefixLength = `${prefix}profile:`.length;
  const channelPrefix = `${prefix}profile-changes:`;
  const encoded = (profile: Profile): EncodedProfile => ({ username: profile.username, version: profile.version, json: encodeProfile(profile) });

  /**
   * Many commands in one round trip: one pipeline on one Redis; on a cluster,
   * separate commands sent without waiting for each other's replies (an
   * ioredis pipeline there must stay on one node, and its auto-pipelining
   * refuses scripts). Replies in order, errors in place.
   */
  async function batch(commands: Array<[(pipeline: GatedPipeline) => unknown, () => Promise<unknown>]>): Promise<Reply[]> {
    if (!cluster) {
      const pipeline = redis.pipeline() as GatedPipeline;
      for (const [queue] of commands) queue(pipeline);
      return ((await pipeline.exec()) ?? []) as Reply[];
    }
    const settled = await Promise.allSettled(commands.map(([, send]) => send()));
    return settled.map((result): Reply => (result.status === 'fulfilled' ? [null, result.value] : [result.reason as Error, null]));
  }

  const hmgetMany = (usernames: string[], fields: string[]) =>
    batch(usernames.map((username) => [(pipeline) => pipeline.hmget(key(username), ...fields), () => redis.hmget(key(username), ...fields)]));

  /** Every write goes through the gate, under the generation the writer read its data in. */
  async function write(entries: CacheWrite[], generation: number): Promise<WriteResult> {
    const result: WriteResult = { applied: 0, newestGeneration: generation, ahead: [] };
    if (entries.length === 0) return result;
    // One call per group of at most KEYS_PER_CALL keys: a bucket's on a cluster, anyone's on one Redis.
    const groups = Map.groupBy(entries, (entry) => keyspace.group(entry.username));
    const chunks: CacheWrite[][] = [];
    const calls: Array<(string | number)[]> = [];
    // Stored and published as is: the generation first, then the profile's own members.
    const tag = `{"generation":${generation},`;
    for (const group of groups.values()) {
      for (let start = 0; start < group.length; start += KEYS_PER_CALL) {
        const chunk = group.slice(start, start + KEYS_PER_CALL);
        chunks.push(chunk);
        const args: (string | number)[] = chunk.map((entry) => key(entry.username));
        args.push(keyspace.publish, String(generation), missingTtlMs, keyspace.firehoseChannel(chunk[0].username), keyPrefixLength, channelPrefix);
        for (const entry of chunk) {
          if ('missing' in entry) args.push(entry.version, `-${tag}"username":${JSON.stringify(entry.username)},"version":${entry.version},"deleted":true}`);
          else args.push(entry.version, tag + entry.json.slice(1));
        }
        calls.push(args);
      }
    }
    const replies = await batch(
      calls.map((args, index) => [
        (pipeline) => pipeline.putIfNewer(chunks[index].length, ...args),
        () => (redis as GatedRedis).putIfNewer(chunks[index].length, ...args),
      ]),
    );
    replies.forEach(([error, value], index) => {
      if (error) throw error;
      const [applied, newest, ahead] = value as [number, number, number[]];
      result.applied += applied;
      result.newestGeneration = Math.max(result.newestGeneration, newest);
      for (let i = 0; i < ahead.length; i += 2) {
        const entry = chunks[index][ahead[i] - 1];
        result.ahead.push({ username: entry.username, cached: ahead[i + 1], offered: Number(entry.version) });
      }
    });
    return result;
  }

  return {
    keyspace,
    /** The firehose channel on one Redis (every change, as before channels per profile). */
    channel: keyspace.firehoseChannels[0],
    epochChannel,
    epochKey,
    key,
    write,

    /** Writes the profile unless the cache already holds this version or a newer one. */
    async put(profile: Profile, generation: number): Promise<boolean> {
      return (await write([encoded(profile)], generation)).applied === 1;
    },

    /** One round trip for many profiles; returns how many were newer than the cache. */
    async putMany(profiles: Profile[], generation: number): Promise<number> {
      return (await write(profiles.map(encoded), generation)).applied;
    },

    /**
     * What the cache knows about these names under this generation, in one
     * round trip. Entries of another generation count as unknown; `newer` says
     * one came from a generation newer than the caller's, which is out of date.
     */
    async read(usernames: string[], generation: number): Promise<{ known: Map<string, Known>; newer: boolean }> {
      const known = new Map<string, Known>();
      let newer = false;
      if (usernames.length === 0) return { known, newer };
      // The common case (one profile per GET) without a pipeline's overhead.
      const results: Reply[] =
        usernames.length === 1 ? [[null, await redis.hmget(key(usernames[0]), 'gen', 'version', 'data')]] : await hmgetMany(usernames, ['gen', 'version', 'data']);
      results.forEach(([error, value], index) => {
        if (error) throw error;
        const [gen, version, data] = value as [string | null, string | null, string | null];
        if (gen === null || version === null) return;
        if (Number(gen) !== generation) {
          newer ||= Number(gen) > generation;
          return;
        }
        const username = usernames[index];
        if (data === null) {
          known.set(username, { username, version: Number(version), missing: true });
          return;
        }
        const profile = decodeProfile(data);
        if (profile) known.set(username, profile);
      });
      return { known, newer };
    },

    /** The cached profile whatever its generation (tests and tools; the app reads with read()). */
    async get(username: string): Promise<Profile | null> {
      return decodeProfile(await redis.hget(key(username), 'data'));
    },

    /** get() for many, in one round trip. */
    async getMany(usernames: string[]): Promise<Map<string, Profile>> {
      const found = new Map<string, Profile>();
      if (usernames.length === 0) return found;
      const results = await hmgetMany(usernames, ['data']);
      results.forEach(([error, value], index) => {
        const profile = error ? null : decodeProfile((value as [string | null])[0]);
        if (profile) found.set(usernames[index], profile);
      });
      return found;
    },

    /** Version, generation and kind of each cached entry, for the orphan pass. */
    async entries(usernames: string[]): Promise<Map<string, { version: number; generation: number; missing: boolean }>> {
      const found = new Map<string, { version: number; generation: number; missing: boolean }>();
      const results = await hmgetMany(usernames, ['version', 'gen', 'missing']);
      results.forEach(([error, value], index) => {
        if (error) throw error;
        const [version, gen, missing] = value as [string | null, string | null, string | null];
        if (version !== null) found.set(usernames[index], { version: Number(version), generation: Number(gen ?? 0), missing: missing !== null });
      });
      return found;
    },

    /** Every username the cache holds an entry for, a page at a time. */
    async *usernames(): AsyncGenerator<string[]> {
      for await (const keys of scanKeys(redis, keyspace.profilePattern, 1_000)) yield keys.map(keyspace.usernameOf);
    },

    /** Drops every cached profile and marker (a new epoch); returns how many. */
    async emptyProfiles(): Promise<number> {
      let removed = 0;
      for await (const keys of scanKeys(redis, keyspace.profilePattern, 1_000)) removed += await unlinkKeys(redis, keys);
      return removed;
    },

    /** The epoch the cache's entries belong to, or null when none is set (a new or flushed Redis). */
    async readEpoch(): Promise<CacheEpoch | null> {
      const [epoch, generation] = await redis.hmget(epochKey, 'epoch', 'generation');
      return epoch && generation ? { epoch, generation: Number(generation) } : null;
    },

    /** Makes the database's epoch the cache's (see ADOPT_EPOCH). */
    async adoptEpoch(epoch: string): Promise<{ generation: number; changed: boolean }> {
      if (!/^[A-Za-z0-9._-]{1,200}$/.test(epoch)) throw new Error(`cache_epoch() returned "${epoch.slice(0, 50)}", which is not an epoch`);
      const [generation, changed] = await (redis as GatedRedis).adoptEpoch(1, epochKey, epoch, epochChannel, keyspace.publish);
      return { generation: Number(generation), changed: changed === 1 };
    },
  };
}

const globalForCache = globalThis as unknown as { rippleProfileCache?: ProfileCache };

/** The process's cache over its one command client. */
export function getProfileCache(): ProfileCache {
  globalForCache.rippleProfileCache ??= createProfileCache(getRedis(), getConfig().REDIS_PREFIX);
  return globalForCache.rippleProfileCache;
}
