// Resync into an empty cache, through the worker's own resyncCache (version-gated
// Lua, PUBLISH per applied profile); the baseline copies the same pages with
// plain pipelined HSETs: no gate, no publish.
import pg from 'pg';
import { Redis } from 'ioredis';
import { createProfileCache } from '../lib/cache';
import { resyncCache } from '../lib/resync';
import type { Profile } from '../lib/profile';
import { now } from './support';

export type ResyncParams = { databaseUrl: string; redisUrl: string; prefix: string };

export async function resyncBench(params: ResyncParams) {
  const pool = new pg.Pool({ connectionString: params.databaseUrl, max: 2 });
  const redis = new Redis(params.redisUrl);
  try {
    const cache = createProfileCache(redis, params.prefix);
    const gated = await resyncCache({ pool, cache });

    const rawPrefix = `${params.prefix}raw:`;
    const started = now();
    let after = '';
    let copied = 0;
    for (;;) {
      const { rows } = await pool.query<{ profile: Profile }>(
        'SELECT profile_json(p) AS profile FROM profiles p WHERE username > $1 ORDER BY username LIMIT 2000',
        [after],
      );
      if (rows.length === 0) break;
      const pipeline = redis.pipeline();
      for (const { profile } of rows) pipeline.hset(`${rawPrefix}profile:${profile.username}`, 'version', profile.version, 'data', JSON.stringify(profile));
      await pipeline.exec();
      copied += rows.length;
      after = rows[rows.length - 1].profile.username;
      if (rows.length < 2000) break;
    }
    const rawMs = now() - started;
    return { profiles: gated.profiles, applied: gated.applied, ms: gated.ms, rawProfiles: copied, rawMs };
  } finally {
    redis.disconnect();
    await pool.end();
  }
}
