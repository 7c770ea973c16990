import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { privatePostgres } from '../faults/servers';
import { LIVE_POSTGRES_PORT } from '../support/env';
import { waitFor } from '../support/processes';
import { startPrivateSystem, type PrivateSystem } from '../support/private-system';

// GETs of names that do not exist must not each cost a Postgres query: the
// cache remembers "missing" for CACHE_MISSING_TTL_MS, and creating the name
// replaces that at once. Counted by pg_stat_statements on a private cluster,
// so nothing else on the machine's PostgreSQL adds to the count.
describe('the negative cache', () => {
  const postgres = privatePostgres(LIVE_POSTGRES_PORT, { settings: ['shared_preload_libraries=pg_stat_statements'] });
  let system: PrivateSystem;
  let stats: pg.Client;

  beforeAll(async () => {
    await postgres.start();
    system = await startPrivateSystem({
      databaseUrl: postgres.url,
      // No periodic resync and no heartbeat inside the counted window: only the reads count.
      env: { CACHE_MISSING_TTL_MS: '30000', RESYNC_INTERVAL_MS: '600000', LISTEN_HEARTBEAT_MS: '60000' },
    });
    stats = new pg.Client({ connectionString: postgres.url });
    await stats.connect();
    await stats.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    // Reads trust the cache only once the web process has seen the worker listening.
    await waitFor(async () => (await system.get('/healthz')).body?.live?.pipeline?.live === true, 'the web process to see the worker', 10_000);
  });

  afterAll(async () => {
    await stats?.end();
    await system?.stop();
    await postgres.remove();
  });

  /** Statements that read profiles, run since the last reset (the web's reads; the worker is idle). */
  async function profileReads(): Promise<number> {
    const { rows } = await stats.query<{ calls: string | null }>(
      `SELECT sum(calls) AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = current_database() AND s.query ILIKE '%profiles%' AND s.query NOT ILIKE '%pg_stat_statements%'`,
    );
    return Number(rows[0].calls ?? 0);
  }

  it('500 GETs of unknown names reach Postgres at most once per name per TTL, and a created name is visible at once', async () => {
    const names = ['ghost_a', 'ghost_b', 'ghost_c', 'ghost_d', 'ghost_e'];
    await stats.query('SELECT pg_stat_statements_reset()');
    for (let round = 0; round < 100; round += 1) {
      const answers = await Promise.all(names.map((name) => system.get(`/v1/profile/${name}`)));
      for (const answer of answers) expect(answer.status).toBe(404);
    }
    const reads = await profileReads();
    console.log(`[negative-cache] 500 GETs of 5 unknown names: ${reads} reads of profiles in Postgres`);
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(names.length);

    await system.pool.query("INSERT INTO profiles (username, display_name) VALUES ('ghost_c', 'Now here')");
    const created = await waitFor(async () => {
      const answer = await system.get('/v1/profile/ghost_c');
      return answer.status === 200 && answer;
    }, 'the created name to be visible', 1_000);
    expect(created.body).toMatchObject({ username: 'ghost_c', displayName: 'Now here', version: 1 });
  });
});
