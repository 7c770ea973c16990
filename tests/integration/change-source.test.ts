import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createProfileCache } from '@/lib/cache/profile-cache';
import { slotName } from '@/lib/change-source';
import { ensureDatabase, migrate, seed } from '@/lib/migrate';
import { deleteKeysWithPrefix } from '@/lib/redis';
import { privatePostgres } from '../faults/servers';
import { CHANGE_SOURCE_POSTGRES_PORT, LIVE_REDIS_PREFIX, LIVE_WEB_PORT, TEST_REDIS_URL, TEST_WORKER_METRICS_PORT, testEnv } from '../support/env';
import { spawnWorker, startWeb, startWorker, waitFor, type Started } from '../support/processes';
import { sample } from '../support/prometheus';

// The setup a person meets: a server with wal_level=replica is told exactly what
// to change, once, without a stack trace; the database records which source is
// in use (the notify trigger on or off) and the slot comes and goes with it.
// A private cluster, started with wal_level=replica and then logical: the
// machine's PostgreSQL is never reconfigured.
describe('CHANGE_SOURCE: setup, the switch recorded in the database, the slot and its lag', () => {
  const postgres = privatePostgres(CHANGE_SOURCE_POSTGRES_PORT, { database: 'ripple_change_source' });
  const url = postgres.url;
  const slot = slotName(url);
  const env = { DATABASE_URL: url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: LIVE_REDIS_PREFIX, RESYNC_INTERVAL_MS: '1000' };
  let pool: pg.Pool;
  let redis: Redis;
  let processes: Started[] = [];

  const trigger = async () => (await pool.query<{ enabled: string }>("SELECT tgenabled AS enabled FROM pg_trigger WHERE tgname = 'profiles_notify'")).rows[0].enabled;
  const slotRow = async () => (await pool.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0];
  const worker = async (extra: Record<string, string>) => {
    const started = await startWorker({ ...env, ...extra });
    processes.push(started);
    return started;
  };
  /** A change made by hand reaches the cache: whichever source is on, it works. */
  async function handEditReachesTheCache(): Promise<void> {
    const { rows } = await pool.query<{ likes: number }>("UPDATE profiles SET likes = likes + 1 WHERE username = 'alice' RETURNING likes");
    await waitFor(async () => (await createProfileCache(redis, LIVE_REDIS_PREFIX).get('alice'))?.likes === Number(rows[0].likes), 'the change in the cache', 5_000);
  }

  beforeAll(async () => {
    await postgres.start();
    await ensureDatabase(url);
    await migrate(url);
    await seed(url);
    pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => undefined);
    redis = new Redis(TEST_REDIS_URL);
    await deleteKeysWithPrefix(redis, LIVE_REDIS_PREFIX);
  });
  afterEach(async () => {
    await Promise.all(processes.map((started) => started.stop()));
    processes = [];
  });
  afterAll(async () => {
    await pool.end();
    await deleteKeysWithPrefix(redis, LIVE_REDIS_PREFIX);
    redis.disconnect();
    await postgres.remove();
  });

  it('wal_level=replica: db:setup and the worker each say once what to change, and nothing is switched', async () => {
    const setup = spawnSync(process.execPath, ['dist/db-setup.js'], { env: { ...process.env, ...testEnv, ...env, CHANGE_SOURCE: 'logical' }, encoding: 'utf8' });
    expect(setup.status).toBe(1);
    const said = setup.stdout + setup.stderr;
    expect(said).toMatch(/CHANGE_SOURCE=logical needs wal_level=logical, and PostgreSQL at 127\.0\.0\.1:\d+ has wal_level=replica/);
    expect(said).toContain('ALTER SYSTEM SET wal_level = logical;');
    expect(said).not.toMatch(/\n\s+at /);

    const refused = spawnWorker({ ...env, CHANGE_SOURCE: 'logical' });
    processes.push(refused);
    const code = await new Promise<number | null>((resolve) => refused.child.once('exit', resolve));
    expect(code).toBe(1);
    const lines = refused.output().trim().split('\n').filter((line) => /wal_level/.test(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ALTER SYSTEM SET wal_level = logical;');
    expect(refused.output()).not.toMatch(/\\n\s+at |"stack"/);
    expect(await trigger()).toBe('O');
  });

  it('wal_level=logical: a logical worker turns the notify trigger off and streams its slot; its lag shows in /healthz and both /metrics', async () => {
    await postgres.stop();
    await postgres.start(['wal_level=logical']);
    const streaming = await worker({ CHANGE_SOURCE: 'logical', WORKER_METRICS_PORT: String(TEST_WORKER_METRICS_PORT) });
    expect(streaming.output()).toMatch(/switched the database to CHANGE_SOURCE=logical/);
    expect(await trigger()).toBe('D');
    expect((await slotRow()).active).toBe(true);
    await handEditReachesTheCache();

    const web = await startWeb(env, LIVE_WEB_PORT);
    processes.push(web);
    const health = await waitFor(async () => {
      const body = await (await fetch(`http://127.0.0.1:${LIVE_WEB_PORT}/healthz`)).json();
      return body.worker?.slot?.lagBytes !== undefined && body.worker.slot.lagMs !== null && body;
    }, 'the slot in /healthz', 10_000);
    expect(health.worker.slot).toMatchObject({ name: slot, role: 'streaming', lagMs: expect.any(Number), lagBytes: expect.any(Number) });
    // The status page's figures carry it too (its "Slot lag" tile).
    const status = await (await fetch(`http://127.0.0.1:${LIVE_WEB_PORT}/v1/status`)).json();
    expect(status.workers.list[0].slot).toMatchObject({ name: slot, role: 'streaming', lagBytes: expect.any(Number) });
    const webMetrics = await (await fetch(`http://127.0.0.1:${LIVE_WEB_PORT}/metrics`)).text();
    expect(sample(webMetrics, 'ripple_slot_lag_bytes', { slot })).toBeGreaterThanOrEqual(0);
    expect(sample(webMetrics, 'ripple_slot_lag_seconds', { slot })).toBeGreaterThanOrEqual(0);
    const workerMetrics = await (await fetch(`http://127.0.0.1:${TEST_WORKER_METRICS_PORT}/metrics`)).text();
    expect(sample(workerMetrics, 'ripple_worker_slot_lag_bytes')).toBeGreaterThanOrEqual(0);
    expect(sample(workerMetrics, 'ripple_worker_slot_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('killed, a logical worker leaves the database logical (trigger off, slot kept): a restart resumes, never neither source', async () => {
    const first = await worker({ CHANGE_SOURCE: 'logical' });
    await first.kill();
    expect(await trigger()).toBe('D');
    expect(await slotRow()).toBeDefined();
    // Written while no worker runs: kept by the slot.
    await pool.query("UPDATE profiles SET followers = followers + 3 WHERE username = 'alice'");
    const again = await worker({ CHANGE_SOURCE: 'logical' });
    expect(again.output()).toMatch(/caught up with slot/);
    await handEditReachesTheCache();
  });

  it('back to notify: the trigger goes on and the slot is dropped, at once when idle, or as soon as the logical worker holding it stops', async () => {
    const logical = await worker({ CHANGE_SOURCE: 'logical' });
    const notify = await worker({ CHANGE_SOURCE: 'notify' });
    expect(await trigger()).toBe('O');
    await waitFor(() => /replication slot \S+ is still read by walsender pid \d+.*SELECT pg_drop_replication_slot\('ripple_ripple_change_source'\)/.test(notify.output()), 'the notify worker to say how the slot goes');
    await logical.stop();
    await waitFor(async () => (await slotRow()) === undefined, 'the slot to be dropped once idle', 10_000);
    expect(notify.output()).toMatch(/dropped replication slot/);
    await handEditReachesTheCache();
  });
});
