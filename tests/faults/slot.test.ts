import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createProfileCache } from '../../lib/cache/profile-cache';
import { slotName } from '../../lib/change-source';
import { dropDatabase } from '../../lib/migrate';
import type { Profile } from '../../lib/profile';
import { FAULTS_REDIS_PREFIX, FAULTS_SLOT_DATABASE_URL, FAULTS_SLOT_REDIS_PORT } from '../support/env';
import { recreateDatabase } from '../support/private-system';
import { startWorker, waitFor, type Started } from '../support/processes';
import { pause } from './fixture';
import { privateRedis } from './servers';

// Faults only a replication slot has, against a database of their own on the
// fault suite's wal_level=logical cluster and a private Redis (which one test
// pauses). Anti-entropy is off for the length of a test, so whatever reaches
// the cache came through the slot.
describe('CHANGE_SOURCE=logical: the slot replays, never skips, and carries what NOTIFY cannot', () => {
  const redisServer = privateRedis(FAULTS_SLOT_REDIS_PORT);
  const slot = slotName(FAULTS_SLOT_DATABASE_URL);
  const env = {
    DATABASE_URL: FAULTS_SLOT_DATABASE_URL,
    REDIS_URL: redisServer.url,
    REDIS_PREFIX: FAULTS_REDIS_PREFIX,
    CHANGE_SOURCE: 'logical',
    RESYNC_INTERVAL_MS: '600000',
    LISTEN_HEARTBEAT_MS: '1000',
    LOG_LEVEL: 'info',
  };
  let pool: pg.Pool;
  let redis: Redis;
  let workers: Started[] = [];
  const cache = () => createProfileCache(redis, FAULTS_REDIS_PREFIX);

  const dropSlot = () => pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]);

  beforeAll(async () => {
    await redisServer.start();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    await recreateDatabase(FAULTS_SLOT_DATABASE_URL);
    pool = new pg.Pool({ connectionString: FAULTS_SLOT_DATABASE_URL, max: 3 });
  });
  afterEach(async (context) => {
    // What the worker said is the first thing to read when a test here fails.
    if (context.task.result?.state === 'fail') for (const worker of workers) console.log(worker.output().slice(-4_000));
    await Promise.all(workers.map((worker) => worker.stop()));
    workers = [];
  });
  afterAll(async () => {
    // A database with a slot cannot be dropped.
    await dropSlot();
    await pool.end();
    redis.disconnect();
    await redisServer.stop();
    await dropDatabase(FAULTS_SLOT_DATABASE_URL);
  });

  const start = async () => {
    const worker = await startWorker(env);
    workers.push(worker);
    return worker;
  };

  /** Every profile whose name starts with the prefix, in Postgres and in Redis, the same. */
  async function cacheEqualsPostgres(prefix: string): Promise<boolean> {
    const { rows } = await pool.query<{ profile: Profile }>('SELECT profile_json(p) AS profile FROM profiles p WHERE username LIKE $1', [`${prefix}%`]);
    const cached = await cache().getMany(rows.map((row) => row.profile.username));
    return rows.length > 0 && rows.every(({ profile }) => JSON.stringify(cached.get(profile.username)) === JSON.stringify(profile));
  }

  const confirmedLsn = async () =>
    (await pool.query<{ lsn: string }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0].lsn;
  const lsnAtLeast = async (a: string, b: string) => (await pool.query<{ ok: boolean }>('SELECT $1::pg_lsn >= $2::pg_lsn AS ok', [a, b])).rows[0].ok;

  it('a worker killed with transactions received but not yet in Redis confirmed none of them, and replays them from the slot on restart', async () => {
    await pool.query(`INSERT INTO profiles (username, display_name) SELECT 'k' || lpad(i::text, 4, '0'), 'K ' || i FROM generate_series(1, 2000) AS i`);
    await start();
    await waitFor(() => cacheEqualsPostgres('k'), 'the first 2,000 profiles in the cache', 10_000);

    // Redis holds every write from now on: the worker receives the next
    // transactions and cannot finish writing them.
    const admin = new Redis(redisServer.url);
    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    try {
      const wal = async () => (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
      await pool.query("UPDATE profiles SET likes = likes + 1 WHERE username LIKE 'k%'");
      const afterFirst = await wal();
      for (let i = 0; i < 2; i += 1) await pool.query("UPDATE profiles SET likes = likes + 1 WHERE username LIKE 'k%'");
      const rows = [{ lsn: await wal() }];
      // The walsender has sent all three transactions, and the worker has had time to take them in.
      await waitFor(async () => {
        const sent = await pool.query<{ lsn: string | null }>("SELECT sent_lsn::text AS lsn FROM pg_stat_replication WHERE application_name = 'ripple-worker-replication'");
        return sent.rows[0]?.lsn && (await lsnAtLeast(sent.rows[0].lsn, rows[0].lsn));
      }, 'the walsender to send the three transactions');
      await pause(500);
      // Not even the first of them is confirmed: none of it is in Redis.
      expect(await lsnAtLeast(await confirmedLsn(), afterFirst)).toBe(false);
      await workers[0].kill();
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
    }
    expect(await cacheEqualsPostgres('k')).toBe(false);

    const restarted = await start();
    const started = Date.now();
    await waitFor(() => cacheEqualsPostgres('k'), 'the replayed transactions in the cache', 5_000);
    console.log(`[faults] logical: killed mid-batch; replayed from the confirmed LSN in ${Date.now() - started} ms`);
    expect(restarted.output()).toMatch(/caught up with slot/);
    expect(restarted.output()).not.toMatch(/resynced \d+ profiles/);
  });

  it('a transaction that changes 10,000 profiles arrives whole: every row in the cache, every version published once', async () => {
    await start();
    const listener = new Redis(redisServer.url);
    const published = new Map<string, number[]>();
    listener.on('message', (_channel: string, message: string) => {
      const { username, version } = JSON.parse(message) as { username: string; version: number };
      if (username.startsWith('w')) published.set(username, [...(published.get(username) ?? []), version]);
    });
    await listener.subscribe(cache().channel);
    try {
      await pool.query(`INSERT INTO profiles (username, display_name) SELECT 'w' || lpad(i::text, 5, '0'), 'W ' || i FROM generate_series(1, 10000) AS i`);
      await waitFor(() => cacheEqualsPostgres('w'), 'the 10,000 inserted profiles in the cache', 15_000);
      await pool.query("UPDATE profiles SET likes = likes + 1, followers = followers + 2 WHERE username LIKE 'w%'");
      const { rows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      await waitFor(() => cacheEqualsPostgres('w'), 'the 10,000 updated profiles in the cache', 15_000);
      await waitFor(() => [...published.values()].filter((versions) => versions.length === 2).length === 10_000, 'both versions of each published', 5_000);
      expect(published.size).toBe(10_000);
      expect([...published.values()].every((versions) => versions[0] === 1 && versions[1] === 2)).toBe(true);
      await waitFor(async () => lsnAtLeast(await confirmedLsn(), rows[0].lsn), 'the slot to confirm the transaction');
    } finally {
      listener.disconnect();
    }
  });

  it('a change larger than NOTIFY can carry (8,000 bytes) propagates, and so do later changes to the same row', async () => {
    await start();
    // Only in this test's database: the demo bounds bio to 160 characters.
    await pool.query('ALTER TABLE profiles DROP CONSTRAINT IF EXISTS bio_length');
    // Random text does not compress, so Postgres stores it out of line (TOAST).
    const bio = randomBytes(7_500).toString('base64');
    expect(bio.length).toBeGreaterThan(8_000);

    // With the notify trigger the same UPDATE cannot even commit.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE profiles ENABLE TRIGGER profiles_notify');
      await expect(client.query("UPDATE profiles SET bio = $1 WHERE username = 'alice'", [bio])).rejects.toThrow(/payload string too long/);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }

    await pool.query("UPDATE profiles SET bio = $1 WHERE username = 'alice'", [bio]);
    await waitFor(async () => (await cache().get('alice'))?.bio === bio, 'the large bio in the cache', 5_000);
    // The large value is unchanged here, so pgoutput does not resend it: the worker reads the row again.
    await pool.query("UPDATE profiles SET likes = likes + 1 WHERE username = 'alice'");
    await waitFor(() => cacheEqualsPostgres('alice'), 'the next change, with the large bio intact', 5_000);
    expect((await cache().get('alice'))?.bio).toBe(bio);
  });

  it('TRUNCATE comes through the slot as a reset: the cache starts over at the new epoch, and rows inserted again at lower versions show', async () => {
    const worker = await start();
    const { rows: before } = await pool.query<{ version: string }>("SELECT version FROM profiles WHERE username = 'alice'");
    expect(Number(before[0].version)).toBeGreaterThan(1);
    await pool.query('TRUNCATE profiles');
    await pool.query("INSERT INTO profiles (username, display_name) VALUES ('alice', 'Alice again')");
    await waitFor(() => cacheEqualsPostgres('alice'), 'alice at version 1 in the cache', 5_000);
    expect((await cache().get('alice'))?.version).toBe(1);
    expect(worker.output()).toMatch(/the cache now follows database epoch/);
  });
});
