// The Lua scripts that order every cache write. Each touches only the keys it
// is given (profile hashes of one bucket, or the one epoch hash) and publishes
// only on channels of the same hash tag, so on a Redis Cluster every call runs
// on one shard (lib/cache/keyspace.ts).

/**
 * The version gate. Check and write happen in one script so no other writer
 * can slip in between; it PUBLISHes only what it applied, so subscribers never
 * hear a value that the cache refused: on the profile's own channel and on
 * the firehose channel. One call gates many profiles: with one call per
 * profile, per-command overhead was most of what a resync cost.
 *
 * A profile hash holds `version`, `gen` (the cache generation the value was
 * read under, see the epoch below) and either `data` (the profile's JSON, with
 * that generation as its first member, exactly as published) or `missing` (a
 * versioned "no such profile" marker that expires: a deletion's tombstone, or
 * the negative cache for a name that never existed, version 0).
 * Order: a newer generation beats anything older; within one generation a
 * higher version wins, and a deletion at version v beats the row at version v
 * (the row it deleted) but loses to v+1 (the row created again).
 *
 * The writer builds the payloads, so the script copies no strings (a resync
 * of 100,000 profiles spent a third of its time in Lua string building).
 * KEYS profile hashes. ARGV[1] PUBLISH or SPUBLISH, ARGV[2] generation, ARGV[3]
 * marker TTL in ms, ARGV[4] the firehose channel, ARGV[5] the length of the
 * keys' common prefix and ARGV[6] the channels' (a profile's channel is
 * ARGV[6] followed by its key past ARGV[5] characters, so no name is sent
 * twice), then per key a version and a payload: the profile's JSON, or "-"
 * and the deletion's JSON for a missing marker.
 * Returns { applied, the newest generation seen, { index, cached version }...
 * for rows the cache holds at a higher version than the one offered }.
 */
export const PUT_IF_NEWER = `
local publish, gen, ttl, firehose = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local skip, channels = tonumber(ARGV[5]), ARGV[6]
local applied, newest, ahead = 0, gen, {}
-- Only channels someone subscribes to: on a cluster every SPUBLISH is copied
-- to the shard's replicas, heard or not. (A script runs alone, so a
-- subscription Redis has confirmed is counted here.)
local numsub = publish == 'SPUBLISH' and 'SHARDNUMSUB' or 'NUMSUB'
local function heard(channel)
  return redis.call('PUBSUB', numsub, channel)[2] > 0
end
local firehoseHeard = nil
local function announce(key, message)
  local channel = channels .. string.sub(key, skip + 1)
  if heard(channel) then redis.call(publish, channel, message) end
  if firehoseHeard == nil then firehoseHeard = heard(firehose) end
  if firehoseHeard then redis.call(publish, firehose, message) end
end
for i, key in ipairs(KEYS) do
  local version = tonumber(ARGV[2 * i + 5])
  local payload = ARGV[2 * i + 6]
  local missing = string.byte(payload, 1) == 45
  local current = redis.call('HMGET', key, 'version', 'gen', 'missing')
  local cv, cg = tonumber(current[1]), tonumber(current[2]) or 0
  local write = false
  if not cv or cg < gen then
    write = true
  elseif cg > gen then
    if cg > newest then newest = cg end
  elseif cv < version or (missing and cv == version and not current[3]) then
    write = true
  elseif cv > version and not missing then
    ahead[#ahead + 1] = i
    ahead[#ahead + 1] = cv
  end
  if write then
    if missing then
      redis.call('HSET', key, 'version', version, 'gen', gen, 'missing', '1')
      if cv then redis.call('HDEL', key, 'data') end
      redis.call('PEXPIRE', key, ttl)
      -- Version 0 (a name that never existed) changes nothing anyone shows.
      if version > 0 then announce(key, string.sub(payload, 2)) end
    else
      redis.call('HSET', key, 'version', version, 'gen', gen, 'data', payload)
      if current[3] then
        redis.call('HDEL', key, 'missing')
        redis.call('PERSIST', key)
      end
      announce(key, payload)
    end
    applied = applied + 1
  end
end
return { applied, newest, ahead }
`;

/**
 * Adopts the database's epoch. Unchanged: returns its generation. Changed: a
 * new generation, larger than any before it (the Redis clock in µs, exact in
 * a double until 2255, so it stays larger even after a FLUSHALL or a restart
 * lost the old one), published
 * in the same step so web processes hear of it before anything written under it.
 * KEYS[1] the epoch hash. ARGV[1] the database's epoch, ARGV[2] the channel,
 * ARGV[3] PUBLISH or SPUBLISH.
 * Returns { generation, 1 if it changed }.
 */
export const ADOPT_EPOCH = `
local current = redis.call('HMGET', KEYS[1], 'epoch', 'generation')
if current[1] == ARGV[1] then return { tonumber(current[2]), 0 } end
local now = redis.call('TIME')
local gen = tonumber(now[1]) * 1000000 + tonumber(now[2])
local previous = tonumber(current[2]) or 0
if gen <= previous then gen = previous + 1 end
local text = string.format('%d', gen)
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'generation', text)
redis.call(ARGV[3], ARGV[2], '{"epoch":"' .. ARGV[1] .. '","generation":' .. text .. '}')
return { gen, 1 }
`;
