import type pg from 'pg';
import type { ProfileCache } from './cache';
import type { Profile } from './profile';

export type ResyncResult = { profiles: number; applied: number; removed: number; ms: number };

const PAGE_SIZE = 2_000;

/**
 * Copies every profile from Postgres into the cache through the version gate.
 * Pages by primary key (keyset, not OFFSET) so it stays linear on big tables;
 * safe to run while live notifications are applied, since the gate keeps the newer one.
 */
export async function resyncCache({
  pool,
  cache,
  onPage,
}: {
  pool: pg.Pool;
  cache: ProfileCache;
  onPage?: (progress: { profiles: number; applied: number }) => void;
}): Promise<ResyncResult> {
  const started = performance.now();
  let after = '';
  let profiles = 0;
  let applied = 0;
  for (;;) {
    const { rows } = await pool.query<{ profile: Profile }>(
      'SELECT profile_json(p) AS profile FROM profiles p WHERE username > $1 ORDER BY username LIMIT $2',
      [after, PAGE_SIZE],
    );
    if (rows.length === 0) break;
    applied += await cache.putMany(rows.map((row) => row.profile));
    profiles += rows.length;
    after = rows[rows.length - 1].profile.username;
    onPage?.({ profiles, applied });
    if (rows.length < PAGE_SIZE) break;
  }
  const removed = await removeOrphans({ pool, cache });
  return { profiles, applied, removed, ms: Math.round(performance.now() - started) };
}

/**
 * Drops cached profiles whose row is gone (the worker missed the DELETE).
 * A row created meanwhile may lose its key too; that costs one cache miss,
 * which reads Postgres and fills the key again.
 */
async function removeOrphans({ pool, cache }: { pool: pg.Pool; cache: ProfileCache }): Promise<number> {
  let removed = 0;
  for await (const usernames of cache.usernames()) {
    const { rows } = await pool.query<{ username: string }>('SELECT username FROM profiles WHERE username = ANY($1::text[])', [usernames]);
    const present = new Set(rows.map((row) => row.username));
    for (const username of usernames) {
      if (!present.has(username)) {
        await cache.remove(username);
        removed += 1;
      }
    }
  }
  return removed;
}
