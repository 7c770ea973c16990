import { encodeProfile, getProfileCache, isMissing, type CacheWrite, type Known, type Missing } from '../cache/profile-cache';
import { query } from '../db';
import { refreshEpoch } from '../live/epoch';
import { cacheView } from '../live/pipeline';
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
 * Profiles Postgres changed at or after `since` (its own clock, as updatedAt),
 * oldest change first, at most `limit`: what a stream of every profile may
 * have missed while its subscription was lost.
 */
export async function profilesChangedSince({ since, limit }: { since: Date; limit: number }): Promise<Profile[]> {
  const { rows } = await query<{ profile: Profile }>(
    'SELECT profile_json(p) AS profile FROM profiles p WHERE updated_at >= $1 ORDER BY updated_at LIMIT $2',
    [since, limit],
  );
  return rows.map((row) => row.profile);
}

/**
 * Each name's profile, or that it is missing with the version it was deleted
 * at (0: never existed), straight from Postgres in one statement.
 */
async function readFromPostgres(usernames: string[]): Promise<Known[]> {
  const { rows } = await query<{ username: string; profile: Profile | null; deleted: string | null }>(
    `SELECT u.username, CASE WHEN p.username IS NULL THEN NULL ELSE profile_json(p) END AS profile, t.version AS deleted
       FROM unnest($1::text[]) AS u(username)
       LEFT JOIN profiles p ON p.username = u.username
       LEFT JOIN profile_tombstones t ON t.username = u.username`,
    [usernames],
  );
  return rows.map((row) => row.profile ?? { username: row.username, version: Number(row.deleted ?? 0), missing: true });
}

/**
 * Read through the cache. A miss, or a Redis that is down, falls back to
 * Postgres, and the answer fills the cache through the same version gate the
 * worker uses, so a slow fill can never overwrite a newer value. A name that
 * does not exist is remembered too, as a versioned marker that its creation
 * replaces at once (the negative cache). While no worker keeps the cache,
 * every read goes to Postgres.
 */
async function lookup(usernames: string[]): Promise<Map<string, Known>> {
  const view = await cacheView();
  const cache = getProfileCache();
  let known = new Map<string, Known>();
  if (view.trusted) {
    try {
      const read = await cache.read(usernames, view.generation!);
      known = read.known;
      if (read.newer) void refreshEpoch().catch(() => undefined);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'cache: read failed; answering from Postgres');
    }
  }
  const unknown = usernames.filter((username) => !known.has(username));
  if (unknown.length === 0) return known;
  const fill: CacheWrite[] = [];
  for (const found of await readFromPostgres(unknown)) {
    known.set(found.username, found);
    fill.push(isMissing(found) ? found : { username: found.username, version: found.version, json: encodeProfile(found) });
  }
  if (view.generation !== null) {
    await cache.write(fill, view.generation).catch((error: Error) => logger.warn({ err: error.message }, 'cache: fill failed; the worker will resync it'));
  }
  return known;
}

export async function getProfile({ username }: { username: string }): Promise<Profile | null> {
  const found = (await lookup([username])).get(username);
  return found && !isMissing(found) ? found : null;
}

/** Several profiles, read through the cache in one round trip; unknown names are left out. */
export async function getProfiles({ usernames }: { usernames: string[] }): Promise<Profile[]> {
  return (await lookupProfiles({ usernames })).profiles;
}

/** getProfiles, and the names that do not exist with the version they went missing at. */
export async function lookupProfiles({ usernames }: { usernames: string[] }): Promise<{ profiles: Profile[]; missing: Missing[] }> {
  const known = await lookup(usernames);
  const profiles: Profile[] = [];
  const missing: Missing[] = [];
  for (const username of usernames) {
    const found = known.get(username);
    if (!found) continue;
    if (isMissing(found)) missing.push(found);
    else profiles.push(found);
  }
  return { profiles, missing };
}
