import pg from 'pg';
import { Redis } from 'ioredis';
import { createProfileCache } from '../../lib/cache/profile-cache';
import { deleteKeysWithPrefix } from '../../lib/redis';
import type { Profile } from '../../lib/profile';
import { TEST_DATABASE_URL, TEST_REDIS_PREFIX, TEST_REDIS_URL } from './env';

export function testPool(): pg.Pool {
  return new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 4 });
}

export function testRedis(): Redis {
  // No ready check: a SUBSCRIBE sent while connecting can overtake its INFO,
  // which then fails and drops the connection (and the subscription with it).
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, enableReadyCheck: false });
}

export function testCache(redis: Redis) {
  return createProfileCache(redis, TEST_REDIS_PREFIX);
}

export async function dbProfile(pool: pg.Pool, username: string): Promise<Profile> {
  const { rows } = await pool.query<{ profile: Profile }>('SELECT profile_json(p) AS profile FROM profiles p WHERE username = $1', [username]);
  if (!rows[0]) throw new Error(`no profile ${username} in the test database`);
  return rows[0].profile;
}

export async function allDbProfiles(pool: pg.Pool): Promise<Profile[]> {
  const { rows } = await pool.query<{ profile: Profile }>('SELECT profile_json(p) AS profile FROM profiles p ORDER BY username');
  return rows.map((row) => row.profile);
}

/** A fresh profile for one test, so tests never depend on each other's clicks. */
export async function createProfile(pool: pg.Pool, username: string, counters: Partial<Record<'followers' | 'followings' | 'likes', number>> = {}): Promise<Profile> {
  await pool.query('DELETE FROM profiles WHERE username = $1', [username]);
  const { rows } = await pool.query<{ profile: Profile }>(
    `INSERT INTO profiles (username, display_name, bio, followers, followings, likes)
     VALUES ($1, $2, 'Made by a test.', $3, $4, $5) RETURNING profile_json(profiles) AS profile`,
    [username, `Test ${username}`, counters.followers ?? 0, counters.followings ?? 0, counters.likes ?? 0],
  );
  return rows[0].profile;
}

export async function deleteKeys(redis: Redis, prefix = TEST_REDIS_PREFIX): Promise<void> {
  await deleteKeysWithPrefix(redis, prefix);
}
