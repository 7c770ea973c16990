import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createWritePool } from '../../lib/db';
import { ProblemError } from '../../lib/http/problem';
import { createDeltaWriter, type DeltaWriter, type DeltaWriterOptions } from '../../lib/writes/apply-deltas';
import { createProfile, dbProfile, testPool } from '../support/db';
import { TEST_DATABASE_URL } from '../support/env';
import { waitFor } from '../support/processes';

// The write path in this process against the real test database, with real
// row locks held by another transaction: every wait is bounded, every answer
// true, and an Idempotency-Key is applied at most once.

const DATABASE = new URL(TEST_DATABASE_URL).pathname.slice(1);

async function holdRowLock(username: string) {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM profiles WHERE username = $1 FOR UPDATE', [username]);
  return {
    release: async () => {
      await client.query('COMMIT').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

const problemOf = (settled: PromiseSettledResult<unknown>) => {
  if (settled.status === 'fulfilled') return 'fulfilled';
  const reason = settled.reason as ProblemError;
  return reason instanceof ProblemError ? `${reason.toResponse().status} ${reason.code}` : `not a problem: ${String(reason)}`;
};

const elapsed = async <T>(work: Promise<T>) => {
  const started = Date.now();
  const settled = (await Promise.allSettled([work]))[0];
  return { settled, ms: Date.now() - started };
};

describe('bounded, truthful writes', () => {
  let pool: pg.Pool;
  const pools: pg.Pool[] = [];

  const writer = (options: Partial<DeltaWriterOptions> & { lockTimeoutMs?: number; statementTimeoutMs?: number } = {}): DeltaWriter => {
    const lockTimeoutMs = options.lockTimeoutMs ?? 1_000;
    const writePool = createWritePool({ connectionString: TEST_DATABASE_URL, max: 4, lockTimeoutMs, statementTimeoutMs: options.statementTimeoutMs ?? 4_000 });
    pools.push(writePool);
    return createDeltaWriter(writePool, { coalescing: 'on', windowMs: 2, maxBatch: 64, maxInFlight: 2, queueLimit: 1_000, deadlineMs: 3_000, lockTimeoutMs, ...options });
  };

  beforeAll(() => {
    pool = testPool();
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((each) => each.end()));
  });

  afterAll(async () => {
    await pool.query(`ALTER DATABASE ${DATABASE} RESET default_transaction_read_only`).catch(() => undefined);
    await pool?.end();
  });

  it('a batch with one locked row answers that row 503 "busy" after the lock timeout and applies the rest, in one statement', async () => {
    const held = await createProfile(pool, 'bound_held', { likes: 1 });
    await createProfile(pool, 'bound_free', { likes: 1 });
    await createProfile(pool, 'bound_zfree', { likes: 1 });
    const write = writer({ lockTimeoutMs: 300 });
    const lock = await holdRowLock('bound_held');
    try {
      const started = Date.now();
      // One turn of the event loop: one batch. bound_free sorts before, bound_zfree after the locked row.
      const settled = await Promise.allSettled([
        write.apply({ username: 'bound_free', deltas: { likes: 1 } }),
        write.apply({ username: 'bound_held', deltas: { likes: 1 } }),
        write.apply({ username: 'bound_zfree', deltas: { likes: 1 } }),
        write.apply({ username: 'bound_held', deltas: { likes: 1 }, key: `held-${Date.now()}` }),
      ]);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(write.stats().batches).toBe(1);
      expect(settled.map(problemOf)).toEqual(['fulfilled', '503 unavailable', 'fulfilled', '503 unavailable']);
      const busy = (settled[1] as PromiseRejectedResult).reason as ProblemError;
      expect(busy.message).toContain('nothing was changed');
      expect(busy.message).toContain('@bound_held');
      expect(busy.headers).toMatchObject({ 'Retry-After': expect.stringMatching(/^\d+$/) });
    } finally {
      await lock.release();
    }
    expect((await dbProfile(pool, 'bound_free')).likes).toBe(2);
    expect((await dbProfile(pool, 'bound_zfree')).likes).toBe(2);
    expect(await dbProfile(pool, 'bound_held')).toEqual(held);
  });

  it('once a row is found locked, its writes take a side lane: writes to other rows no longer wait for it at all', async () => {
    await createProfile(pool, 'lane_held', { likes: 1 });
    await createProfile(pool, 'lane_free', { likes: 1 });
    const write = writer({ lockTimeoutMs: 500 });
    const lock = await holdRowLock('lane_held');
    try {
      // The batch that finds the lock pays one lock timeout, for every request in it.
      const first = await Promise.allSettled([write.apply({ username: 'lane_held', deltas: { likes: 1 } }), write.apply({ username: 'lane_free', deltas: { likes: 1 } })]);
      expect(first.map(problemOf)).toEqual(['503 unavailable', 'fulfilled']);
      expect(write.stats().stalledProfiles).toBe(1);
      // From then on the held row waits alone.
      for (let round = 0; round < 3; round += 1) {
        const held = elapsed(write.apply({ username: 'lane_held', deltas: { likes: 1 } }));
        const free = await elapsed(write.apply({ username: 'lane_free', deltas: { likes: 1 } }));
        expect(problemOf(free.settled)).toBe('fulfilled');
        expect(free.ms).toBeLessThan(400);
        expect(problemOf((await held).settled)).toBe('503 unavailable');
      }
    } finally {
      await lock.release();
    }
    // Released: the next write gets through and the row leaves the side lane.
    expect((await write.apply({ username: 'lane_held', deltas: { likes: 1 } })).kind).toBe('applied');
    expect(write.stats().stalledProfiles).toBe(0);
    expect((await dbProfile(pool, 'lane_held')).likes).toBe(2);
    expect((await dbProfile(pool, 'lane_free')).likes).toBe(5);
  });

  it('a lone write to a locked row (a plain UPDATE) is rolled back by lock_timeout: 503, and nothing commits after the lock goes', async () => {
    const held = await createProfile(pool, 'bound_lone', { likes: 1 });
    const write = writer({ lockTimeoutMs: 300 });
    const lock = await holdRowLock('bound_lone');
    let result: Awaited<ReturnType<typeof elapsed>>;
    try {
      result = await elapsed(write.apply({ username: 'bound_lone', deltas: { likes: 1 } }));
    } finally {
      await lock.release();
    }
    expect(problemOf(result.settled)).toBe('503 unavailable');
    expect(result.ms).toBeLessThan(2_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await dbProfile(pool, 'bound_lone')).toEqual(held);
  });

  it('a write still queued at its deadline is answered 503 without ever being sent; the queue limit refuses at once', async () => {
    const held = await createProfile(pool, 'bound_slot', { likes: 1 });
    const other = await createProfile(pool, 'bound_other', { likes: 1 });
    // One slot, held by a write waiting on the lock for up to 2 s; the others must wait behind it.
    const write = writer({ lockTimeoutMs: 2_000, maxInFlight: 1, deadlineMs: 300, queueLimit: 2 });
    const lock = await holdRowLock('bound_slot');
    try {
      const inFlight = write.apply({ username: 'bound_slot', deltas: { likes: 1 } });
      await waitFor(async () => {
        const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return rows.length > 0;
      }, 'the first write to wait for the lock');
      const queued = [elapsed(write.apply({ username: 'bound_other', deltas: { likes: 1 } })), elapsed(write.apply({ username: 'bound_other', deltas: { likes: 2 } }))];
      const full = await elapsed(write.apply({ username: 'bound_other', deltas: { likes: 3 } }));
      expect(problemOf(full.settled)).toBe('503 unavailable');
      expect(full.ms).toBeLessThan(100);
      expect(((full.settled as PromiseRejectedResult).reason as ProblemError).message).toMatch(/too many changes waiting.*nothing was changed/);
      for (const { settled, ms } of await Promise.all(queued)) {
        expect(problemOf(settled)).toBe('503 unavailable');
        expect(((settled as PromiseRejectedResult).reason as ProblemError).message).toMatch(/without being sent; nothing was changed/);
        expect(ms).toBeGreaterThanOrEqual(290);
        expect(ms).toBeLessThan(1_500);
      }
      expect(write.stats()).toMatchObject({ refusedQueueFull: 1, refusedDeadline: 2, queued: 0 });
      expect(problemOf((await Promise.allSettled([inFlight]))[0])).toBe('503 unavailable');
    } finally {
      await lock.release();
    }
    expect(await dbProfile(pool, 'bound_other')).toEqual(other);
    expect(await dbProfile(pool, 'bound_slot')).toEqual(held);
  });

  it('a write the client stopped waiting for is 504 outcome-unknown, and it may indeed commit later; its key keeps the retry from applying twice', async () => {
    const before = await createProfile(pool, 'bound_abandon', { likes: 0 });
    // A pool with no server-side timeouts and a short client-side one: the abandoned statement keeps running in Postgres.
    const abandoning = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2, query_timeout: 300 });
    pools.push(abandoning);
    const write = createDeltaWriter(abandoning, { coalescing: 'on', windowMs: 2, maxBatch: 64, maxInFlight: 2 });
    const key = `abandon-${Date.now()}`;
    const lock = await holdRowLock('bound_abandon');
    let first: PromiseSettledResult<unknown>;
    try {
      first = (await Promise.allSettled([write.apply({ username: 'bound_abandon', deltas: { likes: 1 }, key })]))[0];
    } finally {
      await lock.release();
    }
    expect(problemOf(first)).toBe('504 outcome-unknown');
    // "May or may not have been applied" was the truth: Postgres went on and committed it.
    await waitFor(async () => (await dbProfile(pool, 'bound_abandon')).likes === 1, 'the abandoned write to commit');
    const retry = await writer().apply({ username: 'bound_abandon', deltas: { likes: 1 }, key });
    expect(retry.kind).toBe('replayed');
    expect((await dbProfile(pool, 'bound_abandon')).likes).toBe(before.likes + 1);
  });

  it('a read-only primary fails a whole batch with one statement and 503 for each request: no re-run storm, no 500', async () => {
    await createProfile(pool, 'bound_ro', { likes: 0 });
    await pool.query(`ALTER DATABASE ${DATABASE} SET default_transaction_read_only = on`);
    let statements = 0;
    try {
      // A fresh pool: only new connections get the setting.
      const writePool = createWritePool({ connectionString: TEST_DATABASE_URL, max: 4, lockTimeoutMs: 1_000, statementTimeoutMs: 4_000 });
      pools.push(writePool);
      writePool.on('connect', (client) => {
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
          statements += 1;
          return query(...args);
        };
      });
      const write = createDeltaWriter(writePool, { coalescing: 'on', windowMs: 2, maxBatch: 64, maxInFlight: 2 });
      const settled = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => write.apply({ username: 'bound_ro', deltas: { likes: 1 + (i % 3) } })));
      expect(write.stats().batches).toBe(1);
      expect(settled.map(problemOf)).toEqual(Array(40).fill('503 unavailable'));
      expect(((settled[0] as PromiseRejectedResult).reason as ProblemError).message).toMatch(/read-only.*nothing was changed/);
      expect(statements).toBe(1);
    } finally {
      await pool.query(`ALTER DATABASE ${DATABASE} RESET default_transaction_read_only`);
    }
    expect((await dbProfile(pool, 'bound_ro')).likes).toBe(0);
  });

  describe('Idempotency-Key against real Postgres', () => {
    it('the same key twice in one batch applies once; the second answers the first\'s committed profile as a replay', async () => {
      const before = await createProfile(pool, 'idem_batch', { likes: 0 });
      const write = writer();
      const key = `batch-${Date.now()}`;
      const results = await Promise.all([
        write.apply({ username: 'idem_batch', deltas: { likes: 1 }, key }),
        write.apply({ username: 'idem_batch', deltas: { likes: 1 }, key }),
        write.apply({ username: 'idem_batch', deltas: { likes: 5 }, key }),
      ]);
      expect(write.stats().batches).toBe(1);
      expect(results.map((result) => result.kind)).toEqual(['applied', 'replayed', 'key-reused']);
      const after = await dbProfile(pool, 'idem_batch');
      expect(after).toMatchObject({ likes: 1, version: before.version + 1 });
      expect(results[0]).toEqual({ kind: 'applied', profile: after });
      expect(results[1]).toEqual({ kind: 'replayed', profile: after });
    });

    it('concurrent duplicates from separate processes (separate pools, separate batches) apply once', async () => {
      await createProfile(pool, 'idem_race', { likes: 0 });
      const writers = [writer(), writer(), writer()];
      for (let round = 0; round < 10; round += 1) {
        const key = `race-${round}-${Date.now()}`;
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => writers[i % writers.length].apply({ username: 'idem_race', deltas: { likes: 1 }, key })),
        );
        expect(results.filter((result) => result.kind === 'applied')).toHaveLength(1);
        expect(results.filter((result) => result.kind === 'replayed')).toHaveLength(11);
        const profiles = new Set(results.map((result) => JSON.stringify((result as { profile: unknown }).profile)));
        expect(profiles.size).toBe(1);
      }
      expect((await dbProfile(pool, 'idem_race')).likes).toBe(10);
    });

    it('a key held by a duplicate stuck on a lock makes only that request wait (503), not its batch-mates; the key applies once later', async () => {
      await createProfile(pool, 'idem_stuck', { likes: 0 });
      await createProfile(pool, 'idem_mate', { likes: 0 });
      const key = `stuck-${Date.now()}`;
      const lock = await holdRowLock('idem_stuck');
      try {
        // Another process reserves the key, then waits on the locked row for up to 1.5 s.
        const stuck = Promise.allSettled([writer({ lockTimeoutMs: 1_500 }).apply({ username: 'idem_stuck', deltas: { likes: 1 }, key })]);
        await waitFor(async () => (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows.length > 0, 'the first write to wait');
        const write = writer({ lockTimeoutMs: 300 });
        const settled = await Promise.allSettled([
          write.apply({ username: 'idem_mate', deltas: { likes: 1 }, key: `${key}-mate` }),
          write.apply({ username: 'idem_stuck', deltas: { likes: 1 }, key }),
          write.apply({ username: 'idem_mate', deltas: { likes: 1 } }),
        ]);
        expect(write.stats().batches).toBe(1);
        expect(settled.map(problemOf)).toEqual(['fulfilled', '503 unavailable', 'fulfilled']);
        expect(problemOf((await stuck)[0])).toBe('503 unavailable');
      } finally {
        await lock.release();
      }
      expect((await dbProfile(pool, 'idem_mate')).likes).toBe(2);
      expect((await dbProfile(pool, 'idem_stuck')).likes).toBe(0);
      const write = writer();
      expect((await write.apply({ username: 'idem_stuck', deltas: { likes: 1 }, key })).kind).toBe('applied');
      expect((await write.apply({ username: 'idem_stuck', deltas: { likes: 1 }, key })).kind).toBe('replayed');
      expect((await dbProfile(pool, 'idem_stuck')).likes).toBe(1);
    });

    it('a 409 or 404 keeps no key: nothing applied, so a retry is decided afresh', async () => {
      await createProfile(pool, 'idem_floor', { likes: 0 });
      const write = writer();
      const key = `floor-${Date.now()}`;
      expect(await write.apply({ username: 'idem_floor', deltas: { likes: -1 }, key })).toEqual({ kind: 'below-zero', counter: 'likes' });
      const { rows } = await pool.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key]);
      expect(rows).toEqual([]);
      await pool.query(`UPDATE profiles SET likes = 1 WHERE username = 'idem_floor'`);
      expect((await write.apply({ username: 'idem_floor', deltas: { likes: -1 }, key })).kind).toBe('applied');
      expect((await write.apply({ username: 'idem_floor', deltas: { likes: -1 }, key })).kind).toBe('replayed');
      expect((await dbProfile(pool, 'idem_floor')).likes).toBe(0);
    });

    it('keys are kept 24 h: a younger key replays, an older one counts as new, and keyed writes remove expired rows', async () => {
      await createProfile(pool, 'idem_old', { likes: 0 });
      const stamp = Date.now();
      const profile = await dbProfile(pool, 'idem_old');
      await pool.query(
        `INSERT INTO idempotency_keys (key, username, followers, followings, likes, profile, created_at)
         SELECT 'young-' || $1, 'idem_old', 0, 0, 1, $2::json, now() - interval '23 hours'
         UNION ALL SELECT 'old-' || $1, 'idem_old', 0, 0, 1, $2::json, now() - interval '25 hours'
         UNION ALL SELECT 'stale-' || $1 || '-' || g, 'idem_old', 0, 0, 1, $2::json, now() - interval '30 hours' FROM generate_series(1, 5) AS g`,
        [stamp, JSON.stringify(profile)],
      );
      const write = writer();
      expect((await write.apply({ username: 'idem_old', deltas: { likes: 1 }, key: `young-${stamp}` })).kind).toBe('replayed');
      expect((await write.apply({ username: 'idem_old', deltas: { likes: 1 }, key: `old-${stamp}` })).kind).toBe('applied');
      expect((await dbProfile(pool, 'idem_old')).likes).toBe(1);
      // Each keyed write removes up to two expired rows; a few more writes clear them all.
      for (let i = 0; i < 4; i += 1) await write.apply({ username: 'idem_old', deltas: { likes: 1 }, key: `sweep-${stamp}-${i}` });
      const { rows } = await pool.query<{ key: string }>(`SELECT key FROM idempotency_keys WHERE created_at < now() - interval '24 hours'`);
      expect(rows).toEqual([]);
      const { rows: kept } = await pool.query(`SELECT 1 FROM idempotency_keys WHERE key = $1`, [`young-${stamp}`]);
      expect(kept).toHaveLength(1);
    });

    it('coalescing stays exact with keys in the mix: 20 clients, keyed and not, give exact totals', async () => {
      await createProfile(pool, 'idem_sum', { likes: 100 });
      const write = writer();
      const clients = Array.from({ length: 20 }, async (_, client) => {
        for (let i = 0; i < 10; i += 1) {
          const key = client % 2 ? `sum-${client}-${i}-${Date.now()}` : undefined;
          const request = { username: 'idem_sum', deltas: { likes: i % 2 === 0 ? 2 : -1 }, key };
          expect((await write.apply(request)).kind).toBe('applied');
          // Every keyed write is retried once: the retry never applies.
          if (key) expect((await write.apply(request)).kind).toBe('replayed');
        }
      });
      await Promise.all(clients);
      expect((await dbProfile(pool, 'idem_sum')).likes).toBe(100 + 20 * 5 * (2 - 1));
      expect(write.stats().batches).toBeLessThan(write.stats().requests);
    });
  });
});
