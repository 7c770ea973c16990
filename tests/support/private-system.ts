import pg from 'pg';
import { Redis } from 'ioredis';
import { createProfileCache } from '../../lib/cache/profile-cache';
import { dropDatabase, ensureDatabase, migrate, seed } from '../../lib/migrate';
import { deleteKeysWithPrefix } from '../../lib/redis';
import type { Profile } from '../../lib/profile';
import { LIVE_DATABASE_URL, LIVE_REDIS_PREFIX, LIVE_WEB_PORT, TEST_REDIS_URL } from './env';
import { startWeb, startWorker, type Started } from './processes';

/**
 * A database, key prefix, web server and worker of a test's own, for tests
 * that reset, drop or restore the database or stop the worker for good.
 * The database is created, migrated and seeded fresh.
 */
export async function startPrivateSystem({
  databaseUrl = LIVE_DATABASE_URL,
  redisUrl = TEST_REDIS_URL,
  prefix = LIVE_REDIS_PREFIX,
  port = LIVE_WEB_PORT,
  env = {},
  worker = true,
}: { databaseUrl?: string; redisUrl?: string; prefix?: string; port?: number; env?: Record<string, string>; worker?: boolean } = {}) {
  await recreateDatabase(databaseUrl);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  await deleteKeysWithPrefix(redis, prefix);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  // The database is dropped under it in some tests.
  pool.on('error', () => undefined);
  const fullEnv = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, ...env };
  const workers: Started[] = [];
  if (worker) workers.push(await startWorker(fullEnv));
  const web = await startWeb(fullEnv, port);
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    pool,
    redis,
    cache: createProfileCache(redis, prefix),
    web,
    workers,
    env: fullEnv,
    async startWorker(extra: Record<string, string> = {}) {
      const started = await startWorker({ ...fullEnv, ...extra });
      workers.push(started);
      return started;
    },
    async get(path: string) {
      const response = await fetch(`${url}${path}`);
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
    },
    async post(username: string, body: unknown) {
      const response = await fetch(`${url}/v1/profile/${username}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: await response.json() };
    },
    async dbProfiles(usernames: string[]): Promise<Map<string, Profile>> {
      const { rows } = await pool.query<{ profile: Profile }>('SELECT profile_json(p) AS profile FROM profiles p WHERE username = ANY($1::text[])', [usernames]);
      return new Map(rows.map((row) => [row.profile.username, row.profile]));
    },
    async stop() {
      await Promise.all([...workers.map((w) => w.stop()), web.stop()]);
      await deleteKeysWithPrefix(redis, prefix).catch(() => undefined);
      redis.disconnect();
      await pool.end().catch(() => undefined);
      await dropDatabase(databaseUrl);
    },
  };
}

export type PrivateSystem = Awaited<ReturnType<typeof startPrivateSystem>>;

export async function recreateDatabase(databaseUrl: string): Promise<void> {
  await dropDatabase(databaseUrl);
  await ensureDatabase(databaseUrl);
  await migrate(databaseUrl);
  await seed(databaseUrl);
}
