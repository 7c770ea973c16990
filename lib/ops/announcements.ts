import type { RedisClient } from '../redis';

// Each process (worker or web) announces its status in Redis every few
// seconds; the status page and /healthz read them, so a process that dies
// simply drops off within ANNOUNCE_TTL_S, with no registry to clean up.
//
// One hash per kind holds every announcement (id → JSON) and one sorted set
// the time each expires, on Redis's clock so that machines with skewed clocks
// agree. Listing costs the same however many other keys Redis holds (no SCAN),
// and drops the expired entries as it goes.
export const ANNOUNCE_TTL_S = 15;
export const ANNOUNCE_MS = 5_000;

export type ProcessKind = 'worker' | 'web';

// One hash tag per kind keeps both keys in one Redis Cluster slot, as a script needs.
const keys = (prefix: string, kind: ProcessKind) => [`${prefix}{${kind}}:announced`, `${prefix}{${kind}}:expires`];

// KEYS: hash, expiry set. ARGV: id, status JSON, TTL in ms.
const ANNOUNCE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`;

// KEYS: hash, expiry set. Returns the live announcements' JSON, after removing the expired.
const LIST = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for i = 1, #expired do redis.call('HDEL', KEYS[1], expired[i]) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
return redis.call('HVALS', KEYS[1])
`;

type AnnouncingRedis = RedisClient & {
  rippleAnnounce(hash: string, expires: string, id: string, status: string, ttlMs: number): Promise<number>;
  rippleListAnnounced(hash: string, expires: string): Promise<string[]>;
};

function scripted(redis: RedisClient): AnnouncingRedis {
  if (!('rippleAnnounce' in redis)) {
    redis.defineCommand('rippleAnnounce', { numberOfKeys: 2, lua: ANNOUNCE });
    redis.defineCommand('rippleListAnnounced', { numberOfKeys: 2, lua: LIST });
  }
  return redis as AnnouncingRedis;
}

export async function announce(redis: RedisClient, prefix: string, kind: ProcessKind, id: string, status: unknown): Promise<void> {
  const [hash, expires] = keys(prefix, kind);
  await scripted(redis).rippleAnnounce(hash, expires, id, JSON.stringify(status), ANNOUNCE_TTL_S * 1000);
}

export async function retire(redis: RedisClient, prefix: string, kind: ProcessKind, id: string): Promise<void> {
  const [hash, expires] = keys(prefix, kind);
  await redis.multi().hdel(hash, id).zrem(expires, id).exec();
}

export async function listAnnounced<T>(redis: RedisClient, prefix: string, kind: ProcessKind): Promise<T[]> {
  const [hash, expires] = keys(prefix, kind);
  const values = await scripted(redis).rippleListAnnounced(hash, expires);
  return values.map((value) => JSON.parse(value) as T).sort((a, b) => String((a as { id: string }).id).localeCompare((b as { id: string }).id));
}
