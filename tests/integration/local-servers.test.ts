import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ensureDatabase, migrate } from '@/lib/migrate';
import { ensureLocalServers, SetupError, stopLocalServers, type LocalServer } from '@/scripts/local-servers';
import { reachable } from '@/scripts/reachable';
import { LOCAL_PG_PORT, LOCAL_REDIS_PORT } from '../support/env';

// Real initdb, pg_ctl and redis-server on free ports, so the servers the
// other suites (and the demo) use on 5432 and 6379 are never touched.
const dataDir = path.resolve('.data', `test-local-servers-${LOCAL_PG_PORT}`);
const databaseUrl = `postgres://postgres@127.0.0.1:${LOCAL_PG_PORT}/ripple_local`;
const redisUrl = `redis://127.0.0.1:${LOCAL_REDIS_PORT}`;
const lines: string[] = [];
let servers: LocalServer[] = [];

describe('npm start brings up project-local servers when nothing answers', () => {
  afterAll(async () => {
    await stopLocalServers(servers);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a cluster, starts PostgreSQL and Redis, and the schema migrates into it', async () => {
    rmSync(dataDir, { recursive: true, force: true });
    servers = await ensureLocalServers({ databaseUrl, redisUrl, dataDir, log: (line) => lines.push(line) });
    expect(servers.map((server) => server.name)).toEqual(['PostgreSQL', 'Redis']);
    expect(lines.join('\n')).toContain('creating a PostgreSQL cluster');

    expect(await ensureDatabase(databaseUrl)).toBe(true);
    const migrations = readdirSync(path.join(process.cwd(), 'db', 'migrations')).map((file) => file.replace(/\.sql$/, '')).sort();
    expect(await migrate(databaseUrl)).toEqual(migrations);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    expect((await client.query('SELECT count(*)::int AS n FROM profiles')).rows[0].n).toBe(0);
    // Ready for CHANGE_SOURCE=logical as it is.
    expect((await client.query('SHOW wal_level')).rows[0].wal_level).toBe('logical');
    await client.end();

    const redis = new Redis(redisUrl);
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
  });

  it('leaves servers that already answer alone', async () => {
    expect(await ensureLocalServers({ databaseUrl, redisUrl, dataDir, log: (line) => lines.push(line) })).toEqual([]);
  });

  it('stops them, and starts the same cluster again with its data kept', async () => {
    await stopLocalServers(servers);
    servers = [];
    expect(await reachable('127.0.0.1', LOCAL_PG_PORT)).toBe(false);
    expect(await reachable('127.0.0.1', LOCAL_REDIS_PORT)).toBe(false);

    lines.length = 0;
    servers = await ensureLocalServers({ databaseUrl, redisUrl, dataDir, log: (line) => lines.push(line) });
    expect(lines.join('\n')).not.toContain('creating a PostgreSQL cluster');
    expect(await ensureDatabase(databaseUrl)).toBe(false);
    expect(await migrate(databaseUrl)).toEqual([]);
  });

  it('never starts a server for a host that is not this machine', async () => {
    await expect(
      ensureLocalServers({ databaseUrl: 'postgres://postgres@192.0.2.1:5432/ripple', redisUrl, dataDir, log: () => undefined }),
    ).rejects.toThrow(SetupError);
  });
});
