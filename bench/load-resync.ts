// Resync into an empty cache, through the worker's own resyncCache (version-gated
// Lua, PUBLISH per applied profile); the baseline copies the same pages with
// plain pipelined HSETs: no gate, no publish.
import pg from 'pg';
import { createProfileCache } from '../lib/cache/profile-cache';
import { readPage, resyncCache } from '../lib/cache/resync';
import { createRedis, deleteKeysWithPrefix, isCluster } from '../lib/redis';
import { parseRedisUrl } from '../lib/redis-url';
import { now } from './support';

/** redisUrl may name a cluster (redis-cluster://); `raw` adds the plain-HSET baseline (one Redis only). */
export type ResyncParams = { databaseUrl: string; redisUrl: string; prefix: string; raw?: boolean };

export async function resyncBench(params: ResyncParams) {
  const pool = new pg.Pool({ connectionString: params.databaseUrl, max: 2 });
  const redis = createRedis('bench', {}, parseRedisUrl(params.redisUrl));
  try {
    const cache = createProfileCache(redis, params.prefix);
    await deleteKeysWithPrefix(redis, `${params.prefix}profile:`);
    const gated = await resyncCache({ pool, cache, generation: Date.now() });
    if (params.raw === false || isCluster(redis)) {
      return { profiles: gated.profiles, applied: gated.applied, ms: gated.ms, rawProfiles: 0, rawMs: NaN };
    }

    const rawPrefix = `${params.prefix}raw:`;
    const started = now();
    let after = '';
    let copied = 0;
    for (;;) {
      const rows = await readPage(pool, after);
      if (rows.length === 0) break;
      const pipeline = redis.pipeline();
      for (const row of rows) pipeline.hset(`${rawPrefix}profile:${row.username}`, 'version', row.version, 'data', row.json);
      await pipeline.exec();
      copied += rows.length;
      after = rows[rows.length - 1].username;
    }
    const rawMs = now() - started;
    return { profiles: gated.profiles, applied: gated.applied, ms: gated.ms, rawProfiles: copied, rawMs };
  } finally {
    redis.disconnect();
    await pool.end();
  }
}
