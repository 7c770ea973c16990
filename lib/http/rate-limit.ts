import { getConfig } from '../config';
import { logger } from '../logger';
import { ProblemError } from './problem';
import { getRedis } from '../redis';

// A token bucket per client in Redis, so every web process shares one budget.
// Redis's own clock (TIME) keeps processes with skewed clocks consistent.
// KEYS[1] bucket; ARGV[1] capacity; ARGV[2] tokens per second. Returns {allowed, retry-after ms, tokens left}.
const TAKE_TOKEN = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or nowMs
tokens = math.min(capacity, tokens + (nowMs - at) * rate / 1000)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', nowMs)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return {allowed, retry, math.floor(tokens)}
`;

type LimitedRedis = { takeToken(key: string, capacity: number, rate: number): Promise<[number, number, number]> };

// What Redis last said each client had left, and when. A client far from its
// limit gets its token at once while the shared bucket is charged in the
// background: the Redis round trip leaves the request's path. Near the limit
// (fewer than HEADROOM tokens, or an answer older than a second) every write
// waits for Redis, so the limit itself stays exact across processes.
const lastKnown = new Map<string, { tokens: number; at: number }>();
const HEADROOM_SHARE = 0.25;
const MIN_HEADROOM = 5;

function takeToken(client: string): Promise<[number, number, number]> {
  const { REDIS_PREFIX, RATE_LIMIT_BURST, RATE_LIMIT_PER_SECOND } = getConfig();
  const redis = getRedis();
  if (!('takeToken' in redis)) redis.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
  return (redis as unknown as LimitedRedis).takeToken(`${REDIS_PREFIX}ratelimit:${client}`, RATE_LIMIT_BURST, RATE_LIMIT_PER_SECOND).then((result) => {
    lastKnown.set(client, { tokens: Number(result[2]), at: Date.now() });
    // Forget quiet clients: the map holds only those seen in the last few seconds.
    if (lastKnown.size > 10_000) for (const [key, known] of lastKnown) if (Date.now() - known.at > 5_000) lastKnown.delete(key);
    return result;
  });
}

/** Takes one write token for this client, or throws a 429 that says when to retry. */
export async function assertWriteAllowed(client: string): Promise<void> {
  const known = lastKnown.get(client);
  const headroom = Math.max(MIN_HEADROOM, getConfig().RATE_LIMIT_BURST * HEADROOM_SHARE);
  if (known && known.tokens >= headroom && Date.now() - known.at < 1_000) {
    known.tokens -= 1;
    takeToken(client).catch(() => undefined);
    return;
  }
  let result: [number, number, number];
  try {
    result = await takeToken(client);
  } catch (error) {
    // Fail open: a Redis outage must not stop writes, which go to Postgres anyway.
    logger.warn({ err: (error as Error).message }, 'rate limit: Redis unavailable; allowing the write');
    return;
  }
  const [allowed, retryMs] = result;
  if (allowed === 1) return;
  const seconds = Math.max(1, Math.ceil(retryMs / 1000));
  throw new ProblemError(
    'too-many-requests',
    `Too many changes from you at once; try again in ${seconds} s.`,
    {},
    { 'Retry-After': String(seconds) },
  );
}
