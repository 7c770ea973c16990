import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { closePool } from '../../lib/db';
import { ProblemError } from '../../lib/http/problem';
import { applyDeltas, createDeltaWriter, getWriteStats, type ApplyDeltasResult } from '../../lib/writes/apply-deltas';
import { createProfile, dbProfile, testPool } from '../support/db';
import { planBatch, type DeltaRequest } from '../support/write-model';
import { post } from '../support/http';
import { waitFor } from '../support/processes';

// These call applyDeltas in this process, against the real test database, so
// that requests made in one turn of the event loop are sure to share a batch.
describe('write coalescing', () => {
  let pool: pg.Pool;

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    await pool?.query('DROP TRIGGER IF EXISTS test_fail_batch ON profiles; DROP FUNCTION IF EXISTS test_fail_batch()');
    await pool?.end();
    await closePool();
  });

  const kinds = (results: ApplyDeltasResult[]) => results.map((result) => result.kind);

  it('counter at 2, five concurrent -1 in one batch: exactly two apply, three get their own 409, final 0', async () => {
    const start = await createProfile(pool, 'batch_floor', { followers: 2 });
    const batches = getWriteStats().batches;
    const results = await Promise.all(Array.from({ length: 5 }, () => applyDeltas({ username: 'batch_floor', deltas: { followers: -1 } })));
    expect(getWriteStats().batches).toBe(batches + 1);
    expect(kinds(results)).toEqual(['applied', 'applied', 'below-zero', 'below-zero', 'below-zero']);
    expect(results[2]).toEqual({ kind: 'below-zero', counter: 'followers' });
    const committed = await dbProfile(pool, 'batch_floor');
    expect(committed.followers).toBe(0);
    // One UPDATE for the batch: the version moves once, and both winners see that row.
    expect(committed.version).toBe(start.version + 1);
    for (const result of results.slice(0, 2)) expect(result).toEqual({ kind: 'applied', profile: committed });
  });

  it('keeps every request of a mixed batch apart: each profile its own total, unknown ones 404', async () => {
    await createProfile(pool, 'batch_a', { likes: 0 });
    await createProfile(pool, 'batch_b', { followings: 1 });
    const results = await Promise.all([
      applyDeltas({ username: 'batch_a', deltas: { likes: 5 } }),
      applyDeltas({ username: 'batch_ghost', deltas: { likes: 1 } }),
      applyDeltas({ username: 'batch_b', deltas: { followings: -1, likes: 2 } }),
      applyDeltas({ username: 'batch_b', deltas: { followings: -1 } }),
      applyDeltas({ username: 'batch_a', deltas: { followers: 3 } }),
    ]);
    expect(kinds(results)).toEqual(['applied', 'not-found', 'applied', 'below-zero', 'applied']);
    const a = await dbProfile(pool, 'batch_a');
    const b = await dbProfile(pool, 'batch_b');
    expect([a.likes, a.followers]).toEqual([5, 3]);
    expect([b.followings, b.likes]).toEqual([0, 2]);
    expect(results[0]).toEqual({ kind: 'applied', profile: a });
    expect(results[2]).toEqual({ kind: 'applied', profile: b });
  });

  it('decides random batches exactly as the reference model does', async () => {
    const names = ['batch_m1', 'batch_m2', 'batch_m3'];
    let seed = 42;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 40; round += 1) {
      const start = await Promise.all(names.map((name) => createProfile(pool, name, { followers: random(3), followings: random(3), likes: random(3) })));
      const current = new Map(start.map((p) => [p.username, { followers: p.followers, followings: p.followings, likes: p.likes }]));
      const requests: DeltaRequest[] = Array.from({ length: 2 + random(12) }, () => ({
        username: random(10) === 0 ? 'batch_nobody' : names[random(names.length)],
        deltas: { followers: random(5) - 2, ...(random(2) ? { likes: random(5) - 2 } : {}) },
      }));
      const model = planBatch(requests, current);
      const results = await Promise.all(requests.map((request) => applyDeltas(request)));
      expect(results.map((result) => (result.kind === 'applied' ? 'apply' : result.kind))).toEqual(model.outcomes.map((outcome) => outcome.kind));
      for (const name of names) {
        const after = await dbProfile(pool, name);
        const before = current.get(name)!;
        const total = model.totals.get(name) ?? { followers: 0, followings: 0, likes: 0 };
        expect([after.followers, after.followings, after.likes]).toEqual([before.followers + total.followers, before.followings + total.followings, before.likes + total.likes]);
      }
    }
  });

  it('with coalescing off, each request is its own transaction: same answers, one version per write', async () => {
    const start = await createProfile(pool, 'batch_off', { followers: 2 });
    const writer = createDeltaWriter(pool, { coalescing: 'off', windowMs: 2, maxBatch: 64, maxInFlight: 2 });
    const results = await Promise.all(Array.from({ length: 5 }, () => writer.apply({ username: 'batch_off', deltas: { followers: -1 } })));
    expect(kinds(results).filter((kind) => kind === 'applied')).toHaveLength(2);
    expect(kinds(results).filter((kind) => kind === 'below-zero')).toHaveLength(3);
    const committed = await dbProfile(pool, 'batch_off');
    expect(committed.followers).toBe(0);
    expect(committed.version).toBe(start.version + 2);
    expect(writer.stats()).toEqual({ coalescing: 'off', batches: 5, requests: 5, largestBatch: 1, queued: 0, refusedQueueFull: 0, refusedDeadline: 0, stalledProfiles: 0 });
  });

  it('gives exact totals under sustained concurrency across several profiles', async () => {
    const names = ['batch_t1', 'batch_t2', 'batch_t3'];
    for (const name of names) await createProfile(pool, name, { likes: 100 });
    const before = getWriteStats();
    const [batches, requests] = [before.batches, before.requests];
    // 30 clients, 20 sequential writes each: +2 then -1 on a rotating profile.
    const clients = Array.from({ length: 30 }, async (_, client) => {
      const statuses: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const username = names[(client + i) % names.length];
        statuses.push((await applyDeltas({ username, deltas: { likes: i % 2 === 0 ? 2 : -1 } })).kind);
      }
      return statuses;
    });
    const statuses = (await Promise.all(clients)).flat();
    expect(statuses.filter((kind) => kind !== 'applied')).toEqual([]);
    const totals = await Promise.all(names.map(async (name) => (await dbProfile(pool, name)).likes));
    expect(totals.reduce((sum, likes) => sum + likes, 0)).toBe(300 + 30 * 10 * (2 - 1));
    const after = getWriteStats();
    expect(after.requests - requests).toBe(600);
    // Coalescing really happened: fewer transactions than requests.
    expect(after.batches - batches).toBeLessThan(600);
  });

  it('a batch that Postgres rejects fails only the request at fault: the rest apply once, as if run alone', async () => {
    await createProfile(pool, 'batch_ok', { likes: 0 });
    await createProfile(pool, 'batch_boom', { likes: 0 });
    await pool.query(`
      CREATE FUNCTION test_fail_batch() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.username = 'batch_boom' THEN RAISE EXCEPTION 'test: refused on purpose'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_fail_batch BEFORE UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION test_fail_batch();`);
    const requests = () => [
      applyDeltas({ username: 'batch_ok', deltas: { likes: 1 } }),
      applyDeltas({ username: 'batch_ok', deltas: { likes: 1 } }),
      applyDeltas({ username: 'batch_boom', deltas: { likes: 1 } }),
      applyDeltas({ username: 'batch_ok', deltas: { likes: 1 } }),
    ];
    const batches = getWriteStats().batches;
    const settled = await Promise.allSettled(requests());
    // One batch, rejected as a whole by Postgres, then each request alone.
    expect(getWriteStats().batches).toBe(batches + 1);
    expect(settled.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const refusal = (settled[2] as PromiseRejectedResult).reason as ProblemError;
    expect(refusal).toBeInstanceOf(ProblemError);
    expect(refusal.toResponse().status).toBe(500);
    expect(refusal.message).toContain('nothing was changed');
    const afterFirst = await dbProfile(pool, 'batch_ok');
    expect(afterFirst.likes).toBe(3);
    const answered = settled.filter((result) => result.status === 'fulfilled').map((result) => (result as PromiseFulfilledResult<ApplyDeltasResult>).value);
    // Run alone, each got its own commit: three different versions, the last one the row's.
    const versions = answered.map((result) => (result.kind === 'applied' ? result.profile.version : -1)).sort((a, b) => a - b);
    expect(new Set(versions).size).toBe(3);
    expect(versions[2]).toBe(afterFirst.version);
    expect((await dbProfile(pool, 'batch_boom')).likes).toBe(0);

    await pool.query('DROP TRIGGER test_fail_batch ON profiles; DROP FUNCTION test_fail_batch()');
    expect(kinds(await Promise.all(requests()))).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect((await dbProfile(pool, 'batch_ok')).likes).toBe(6);
    expect((await dbProfile(pool, 'batch_boom')).likes).toBe(1);
  });

  it('a batch whose connection dies mid-transaction fails every request in it and applies none', async () => {
    await createProfile(pool, 'batch_cut', { likes: 0 });
    await createProfile(pool, 'batch_slow', { likes: 0 });
    await pool.query(`
      CREATE OR REPLACE FUNCTION test_fail_batch() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.username = 'batch_slow' THEN PERFORM pg_sleep(30); END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_fail_batch BEFORE UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION test_fail_batch();`);
    const pending = Promise.allSettled([
      applyDeltas({ username: 'batch_cut', deltas: { likes: 1 } }),
      applyDeltas({ username: 'batch_slow', deltas: { likes: 1 } }),
      applyDeltas({ username: 'batch_cut', deltas: { likes: 1 } }),
    ]);
    const pid = await waitFor(async () => {
      const { rows } = await pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' AND query LIKE '%apply_profile_deltas%'`,
      );
      return rows[0]?.pid;
    }, 'the batch to reach the sleeping trigger');
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    const settled = await pending;
    expect(settled.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    // Sent, then the connection died: the server cannot know, so it says so.
    for (const result of settled) expect(((result as PromiseRejectedResult).reason as ProblemError).code).toBe('outcome-unknown');
    await pool.query('DROP TRIGGER test_fail_batch ON profiles; DROP FUNCTION test_fail_batch()');
    expect((await dbProfile(pool, 'batch_cut')).likes).toBe(0);
    expect((await dbProfile(pool, 'batch_slow')).likes).toBe(0);
  });

  it('over HTTP, only the requests Postgres refuses fail, with problem+json; every other one applies once', async () => {
    await createProfile(pool, 'batch_http', { likes: 0 });
    await createProfile(pool, 'batch_http_boom', { likes: 0 });
    await pool.query(`
      CREATE OR REPLACE FUNCTION test_fail_batch() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.username = 'batch_http_boom' THEN RAISE EXCEPTION 'test: refused on purpose'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_fail_batch BEFORE UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION test_fail_batch();`);
    try {
      // Whichever requests share a batch with a failing one, only the failing ones fail.
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => post(i % 8 === 0 ? 'batch_http_boom' : 'batch_http', { likes: 1 })),
      );
      const boom = results.filter((_, i) => i % 8 === 0);
      expect(boom.map((r) => r.status)).toEqual([500, 500, 500, 500, 500]);
      for (const result of boom) {
        expect(result.contentType).toContain('application/problem+json');
        expect(result.body.detail).toContain('nothing was changed');
      }
      expect(results.filter((_, i) => i % 8 !== 0).map((r) => r.status)).toEqual(Array(35).fill(200));
      expect((await dbProfile(pool, 'batch_http')).likes).toBe(35);
      expect((await dbProfile(pool, 'batch_http_boom')).likes).toBe(0);
    } finally {
      await pool.query('DROP TRIGGER IF EXISTS test_fail_batch ON profiles; DROP FUNCTION IF EXISTS test_fail_batch()');
    }
  });
});
