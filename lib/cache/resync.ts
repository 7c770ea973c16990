import type pg from 'pg';
import type { EncodedProfile, Missing, ProfileCache, WriteResult } from './profile-cache';

export type ResyncResult = {
  profiles: number;
  applied: number;
  removed: number;
  ms: number;
  /** The newest cache generation met: newer than the one written means another worker began a new epoch. */
  newestGeneration: number;
  /** Rows whose version in Postgres is now lower than the cache's: versions moved back (a restore). */
  movedBack: Array<{ username: string; cached: number; database: number }>;
};

const PAGE_SIZE = 2_000;

/**
 * Copies every profile from Postgres into the cache through the version gate,
 * under one cache generation. Pages by primary key (keyset, not OFFSET) so it
 * stays linear on big tables; safe to run while live notifications are
 * applied, since the gate keeps the newer one.
 */
export async function resyncCache({
  pool,
  cache,
  generation,
  onPage,
}: {
  pool: pg.Pool;
  cache: ProfileCache;
  generation: number;
  onPage?: (progress: { profiles: number; applied: number }) => void;
}): Promise<ResyncResult> {
  const started = performance.now();
  let profiles = 0;
  let applied = 0;
  let newestGeneration = generation;
  const ahead: WriteResult['ahead'] = [];
  // The next page is read from Postgres while this one is written to Redis.
  let next = readPage(pool, '');
  for (;;) {
    const page = await next;
    if (page.length === 0) break;
    next = page.length < PAGE_SIZE ? Promise.resolve([]) : readPage(pool, page[page.length - 1].username);
    const result = await cache.write(page, generation);
    applied += result.applied;
    newestGeneration = Math.max(newestGeneration, result.newestGeneration);
    ahead.push(...result.ahead);
    profiles += page.length;
    onPage?.({ profiles, applied });
  }
  const movedBack = await versionsMovedBack(pool, ahead);
  const removed = await removeOrphans({ pool, cache, generation });
  return { profiles, applied, removed, ms: Math.round(performance.now() - started), newestGeneration, movedBack };
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
 * The cache holding a higher version than the page offered is normal when a
 * live change landed after the page was read. So ask Postgres again: a
 * version it holds now that is lower than one it committed before cannot
 * happen while versions only rise, so it means they moved back.
 */
async function versionsMovedBack(pool: pg.Pool, ahead: WriteResult['ahead']): Promise<ResyncResult['movedBack']> {
  if (ahead.length === 0) return [];
  const { rows } = await pool.query<{ username: string; version: string }>('SELECT username, version FROM profiles WHERE username = ANY($1::text[])', [
    ahead.map((row) => row.username),
  ]);
  const now = new Map(rows.map((row) => [row.username, Number(row.version)]));
  return ahead.flatMap(({ username, cached }) => {
    const database = now.get(username);
    return database !== undefined && database < cached ? [{ username, cached, database }] : [];
  });
}

/**
 * Marks cached profiles whose row is gone (the worker missed the DELETE) as
 * missing, through the gate, at the deleted row's last version: a row created
 * again meanwhile continues from that version, so it always wins. For the few
 * names Postgres lacks, the cached entries are read before Postgres is asked
 * again, so a row created after that question has a higher version than the
 * tombstone too; the whole cache costs one cheap presence query per page.
 */
async function removeOrphans({ pool, cache, generation }: { pool: pg.Pool; cache: ProfileCache; generation: number }): Promise<number> {
  let removed = 0;
  for await (const usernames of cache.usernames()) {
    const { rows: present } = await pool.query<{ username: string }>('SELECT username FROM profiles WHERE username = ANY($1::text[])', [usernames]);
    const found = new Set(present.map((row) => row.username));
    const absent = usernames.filter((username) => !found.has(username));
    if (absent.length === 0) continue;
    const entries = await cache.entries(absent);
    const withData = absent.filter((username) => entries.has(username) && !entries.get(username)!.missing);
    if (withData.length === 0) continue;
    const { rows } = await pool.query<{ username: string; present: boolean; deleted: string | null }>(
      `SELECT u.username, p.username IS NOT NULL AS present, t.version AS deleted
         FROM unnest($1::text[]) AS u(username)
         LEFT JOIN profiles p ON p.username = u.username
         LEFT JOIN profile_tombstones t ON t.username = u.username`,
      [withData],
    );
    const gone: Missing[] = rows
      .filter((row) => !row.present)
      .map((row) => {
        const entry = entries.get(row.username)!;
        // An entry of an older generation says nothing about this epoch's versions.
        const cached = entry.generation === generation ? entry.version : 0;
        return { username: row.username, version: Math.max(cached, Number(row.deleted ?? 0)), missing: true };
      });
    removed += (await cache.write(gone, generation)).applied;
  }
  return removed;
}
