import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabase, migrate, seed } from '../../lib/migrate';
import { FAULTS_POSTGRES_PORT, FAULTS_REDIS_PORT } from '../support/env';
import { waitFor } from '../support/processes';
import { pause, startSystem, WATCHED } from './fixture';
import { privatePostgres, privateRedis } from './servers';

describe('PostgreSQL restarted (a private cluster, never the machine’s)', () => {
  const postgres = privatePostgres(FAULTS_POSTGRES_PORT, { settings: ['wal_level=logical'] });
  const redisServer = privateRedis(FAULTS_REDIS_PORT + 1);

  beforeAll(async () => {
    await postgres.start();
    await ensureDatabase(postgres.url);
    await migrate(postgres.url);
    await seed(postgres.url);
    await redisServer.start();
  });

  afterAll(async () => {
    await redisServer.stop();
    await postgres.remove();
  });

  it.each(['notify', 'logical'] as const)('6. CHANGE_SOURCE=%s: the endpoint answers 503 problem+json while it is down; worker and pool recover when it is back', async (source) => {
    // logical: no fast anti-entropy, so the slot (kept across the restart) must bring in what the worker missed.
    const system = await startSystem({ redisUrl: redisServer.url, databaseUrl: postgres.url, source, env: source === 'logical' ? { RESYNC_INTERVAL_MS: '60000' } : {} });
    try {
      await pause(500);
      await postgres.stop();
      const port = [...system.webs.keys()][0];
      const down = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/v1/profile/${WATCHED[0]}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ likes: 1 }),
        });
        return response.status === 503 && response;
      }, 'a 503 while Postgres is down');
      expect(down.headers.get('content-type')).toContain('application/problem+json');
      expect((await down.json()).detail).toMatch(/database is not reachable/);
      await pause(1_000);
      await postgres.start();
      const took = await system.expectConverged();
      console.log(`[faults] ${source}: PostgreSQL restart: Redis and the stream equal Postgres ${took} ms after the writer stopped`);
      expect(system.writer.statuses.get('503')).toBeGreaterThan(0);
      expect(system.writer.statuses.get('500') ?? 0).toBe(0);
    } finally {
      await system.stop();
    }
  });
});
