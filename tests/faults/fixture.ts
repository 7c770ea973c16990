import { expect } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createProfileCache } from '../../lib/cache/profile-cache';
import type { ChangeSource } from '../../lib/change-source';
import { LISTEN_APPLICATION_NAME } from '../../worker/listener';
import { REPLICATION_APPLICATION_NAME } from '../../worker/replication';
import type { Profile } from '../../lib/profile';
import { createProfile } from '../support/db';
import { FAULTS_DATABASE_URL, FAULTS_REDIS_PREFIX, FAULTS_WEB_PORTS } from '../support/env';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';
import { startWatcher, startWriter } from './load';

export const WATCHED = ['fault_a', 'fault_b', 'fault_c', 'fault_d', 'fault_e'];

/** Web and worker processes, a writer and an SSE watcher, all pointed at one database and one Redis. */
export async function startSystem({
  redisUrl,
  databaseUrl = FAULTS_DATABASE_URL,
  webs = 1,
  workers = 1,
  source = 'notify',
  env: extra = {},
}: {
  redisUrl: string;
  databaseUrl?: string;
  webs?: number;
  workers?: number;
  source?: ChangeSource;
  env?: Record<string, string>;
}) {
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: FAULTS_REDIS_PREFIX,
    CHANGE_SOURCE: source,
    // Fast anti-entropy and heartbeat so every recovery fits the 5 s budget.
    RESYNC_INTERVAL_MS: '1000',
    LISTEN_HEARTBEAT_MS: '1000',
    // Info level: some tests read what the processes say they did.
    LOG_LEVEL: 'info',
    ...extra,
  };
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => undefined);
  for (const username of WATCHED) await createProfile(pool, username, { followers: 2, followings: 2, likes: 2 });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  // A private Redis: start every test from an empty cache.
  await redis.flushall();
  const cache = createProfileCache(redis, FAULTS_REDIS_PREFIX);

  const webProcesses = new Map<number, Started>();
  for (const port of FAULTS_WEB_PORTS.slice(0, webs)) webProcesses.set(port, await startWeb(env, port));
  const workerProcesses: Started[] = [];
  for (let i = 0; i < workers; i += 1) workerProcesses.push(await startWorker(env));

  const liveUrls = () => [...webProcesses.entries()].filter(([, web]) => web.child.exitCode === null && web.child.signalCode === null).map(([port]) => `http://127.0.0.1:${port}`);
  const watcher = startWatcher(liveUrls, WATCHED);
  await waitFor(() => WATCHED.every((u) => watcher.latest.has(u)), 'the watcher snapshot');
  const writer = startWriter(liveUrls, WATCHED);

  return {
    env,
    pool,
    redis,
    cache,
    webs: webProcesses,
    workers: workerProcesses,
    writer,
    watcher,
    startWorker: async () => {
      const worker = await startWorker(env);
      workerProcesses.push(worker);
      return worker;
    },
    /** Stops the load, then waits until Redis and the watcher both equal Postgres; returns how long that took. */
    async expectConverged(withinMs = 5_000): Promise<number> {
      await writer.stop();
      const started = Date.now();
      await waitFor(async () => {
        const { rows } = await pool.query<{ profile: Profile }>('SELECT profile_json(p) AS profile FROM profiles p');
        const cached = await cache.getMany(rows.map((row) => row.profile.username));
        const cacheEqual = rows.every(({ profile }) => JSON.stringify(cached.get(profile.username)) === JSON.stringify(profile));
        const watcherEqual = rows
          .filter(({ profile }) => WATCHED.includes(profile.username))
          .every(({ profile }) => JSON.stringify(watcher.latest.get(profile.username)) === JSON.stringify(profile));
        return cacheEqual && watcherEqual;
      }, 'Redis and the open stream to equal Postgres', withinMs);
      const took = Date.now() - started;
      expect(watcher.violations()).toEqual([]);
      expect(writer.problems).toEqual([]);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM profiles WHERE followers < 0 OR followings < 0 OR likes < 0');
      expect(rows[0].n).toBe(0);
      return took;
    },
    async stop() {
      await writer.stop();
      await watcher.stop();
      await Promise.all([...workerProcesses.map((w) => w.stop()), ...[...webProcesses.values()].map((w) => w.stop())]);
      redis.disconnect();
      await pool.end();
    },
  };
}

/**
 * The backend that feeds the worker (one worker runs): its LISTEN connection,
 * or with CHANGE_SOURCE=logical the walsender reading its slot; a backend
 * known to be dead is ignored.
 */
export async function listenBackendPid(pool: pg.Pool, besides?: number, source: ChangeSource = 'notify'): Promise<number> {
  const name = source === 'logical' ? REPLICATION_APPLICATION_NAME : LISTEN_APPLICATION_NAME;
  return waitFor(async () => {
    const { rows } = await pool.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $2 AND datname = current_database() AND pid IS DISTINCT FROM $1',
      [besides ?? null, name],
    );
    return rows.length === 1 && rows[0].pid;
  }, `exactly one ${source === 'logical' ? 'walsender' : 'LISTEN backend'}`, 10_000);
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
