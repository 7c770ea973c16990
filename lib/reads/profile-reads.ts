import { getProfileCache } from '../cache/profile-cache';
import { query } from '../db';
import { logger } from '../logger';
import type { Profile } from '../profile';

/** Straight from Postgres, bypassing the cache. */
export async function findProfile({ username }: { username: string }): Promise<Profile | null> {
  const { rows } = await query<{ profile: Profile }>(
    'SELECT profile_json(p) AS profile FROM profiles p WHERE username = $1',
    [username],
  );
  return rows[0]?.profile ?? null;
}

/** Straight from Postgres, in username order. */
export async function listProfiles({ limit }: { limit: number }): Promise<Profile[]> {
  const { rows } = await query<{ profile: Profile }>(
    'SELECT profile_json(p) AS profile FROM profiles p ORDER BY username LIMIT $1',
    [limit],
  );
  return rows.map((row) => row.profile);
}

/**
 * Read through the cache. A miss, or a Redis that is down, falls back to
 * Postgres, and the answer fills the cache through the same version gate the
 * worker uses, so a slow fill can never overwrite a newer value.
 */
export async function getProfile({ username }: { username: string }): Promise<Profile | null> {
  const cache = getProfileCache();
  try {
    const cached = await cache.get(username);
    if (cached) return cached;
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'cache: read failed; answering from Postgres');
  }
  const profile = await findProfile({ username });
  if (profile) {
    await cache.put(profile).catch((error: Error) => logger.warn({ err: error.message }, 'cache: fill failed; the worker will resync it'));
  }
  return profile;
}

/** Several profiles, read through the cache in one round trip; unknown names are left out. */
export async function getProfiles({ usernames }: { usernames: string[] }): Promise<Profile[]> {
  const cache = getProfileCache();
  let found = new Map<string, Profile>();
  try {
    found = await cache.getMany(usernames);
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'cache: read failed; answering from Postgres');
  }
  const missing = usernames.filter((username) => !found.has(username));
  if (missing.length > 0) {
    const { rows } = await query<{ profile: Profile }>(
      'SELECT profile_json(p) AS profile FROM profiles p WHERE username = ANY($1::text[])',
      [missing],
    );
    for (const { profile } of rows) {
      found.set(profile.username, profile);
      await cache.put(profile).catch(() => undefined);
    }
  }
  return usernames.flatMap((username) => found.get(username) ?? []);
}
