import type pg from 'pg';
import type { EncodedProfile, ProfileCache } from './profile-cache';

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
  let profiles = 0;
  let applied = 0;
  // The next page is read from Postgres while this one is written to Redis.
  let next = readPage(pool, '');
  for (;;) {
    const page = await next;
    if (page.length === 0) break;
    next = page.length < PAGE_SIZE ? Promise.resolve([]) : readPage(pool, page[page.length - 1].username);
    applied += await cache.putEncoded(page);
    profiles += page.length;
    onPage?.({ profiles, applied });
  }
  const removed = await removeOrphans({ pool, cache });
  return { profiles, applied, removed, ms: Math.round(performance.now() - started) };
}

/**
 * One page of profiles after `after`, as the JSON text the cache stores:
 * no parse and re-serialise in Node. A failure surfaces where the page is
 * awaited, even if the caller fails first and never awaits it.
 */
export function readPage(pool: pg.Pool, after: string): Promise<EncodedProfile[]> {
  const page = pool
    .query<EncodedProfile>(
      'SELECT username, version, profile_json(p)::text AS json FROM profiles p WHERE username > $1 ORDER BY username LIMIT $2',
      [after, PAGE_SIZE],
    )
    .then((result) => result.rows);
  page.catch(() => undefined);
  return page;
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
