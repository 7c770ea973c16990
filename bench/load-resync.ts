// Resync into an empty cache, through the worker's own resyncCache (version-gated
// Lua, PUBLISH per applied profile); the baseline copies the same pages with
// plain pipelined HSETs: no gate, no publish.
import pg from 'pg';
import { Redis } from 'ioredis';
import { createProfileCache } from '../lib/cache/profile-cache';
import { readPage, resyncCache } from '../lib/cache/resync';
import { now } from './support';

export type ResyncParams = { databaseUrl: string; redisUrl: string; prefix: string };

export async function resyncBench(params: ResyncParams) {
  const pool = new pg.Pool({ connectionString: params.databaseUrl, max: 2 });
  const redis = new Redis(params.redisUrl);
  try {
    const cache = createProfileCache(redis, params.prefix);
    const gated = await resyncCache({ pool, cache, generation: Date.now() });

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
