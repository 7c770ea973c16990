import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createProfile, dbProfile, testPool } from '../support/db';
import { TEST_DATABASE_URL, TEST_WEB_PORT, TEST_WEB_URL } from '../support/env';
import { post } from '../support/http';
import { waitFor } from '../support/processes';
import { sample, scrape } from '../support/prometheus';

// Every answer of POST /v1/profile/{username} must be true: "nothing was
// changed" only when Postgres rolled the write back (or it was never sent),
// 504 outcome-unknown when the server cannot know, and an Idempotency-Key
// makes retries safe. These run against the shared production server with
// the default write timeouts (lock 1 s, statement 4 s, queue deadline 3 s).

/** Holds a row lock in its own transaction, as an operator's psql session would. */
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

/** Waits until no statement of the web server still waits on or touches profiles (so a late commit would have landed). */
async function writesSettled(pool: pg.Pool): Promise<void> {
  await waitFor(async () => {
    const { rows } = await pool.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
         AND (query LIKE '%apply_profile_deltas%' OR query LIKE 'UPDATE profiles%')`,
    );
    return rows.length === 0;
  }, 'the write statements to finish', 20_000);
}

const timed = async <T>(work: () => Promise<T>) => {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
};

describe('writes tell the truth', () => {
  let pool: pg.Pool;

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    await pool.query('ALTER DATABASE ' + new URL(TEST_DATABASE_URL).pathname.slice(1) + ' RESET default_transaction_read_only').catch(() => undefined);
    await pool?.end();
  });

  it('a write blocked by a held row lock answers 503 "nothing was changed", and indeed nothing changes after the lock goes', async () => {
    const before = await createProfile(pool, 'truth_locked', { likes: 5 });
    const lock = await holdRowLock('truth_locked');
    let answer: Awaited<ReturnType<typeof post>>;
    try {
      answer = await post('truth_locked', { likes: 1 });
    } finally {
      await lock.release();
    }
    await writesSettled(pool);
    expect(answer.status).toBe(503);
    expect(answer.body.type).toBe('urn:ripple:problem:unavailable');
    expect(answer.body.detail).toContain('nothing was changed');
    expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
    // The answer was true: Postgres rolled the write back, it did not commit later.
    expect(await dbProfile(pool, 'truth_locked')).toEqual(before);
  });

  it('a locked row does not hold writes to other rows hostage: they answer 200 within the queue deadline', async () => {
    await createProfile(pool, 'truth_locked', { likes: 5 });
    const carol = await createProfile(pool, 'truth_carol', { likes: 0 });
    const lock = await holdRowLock('truth_locked');
    try {
      // Enough writes to the locked row to fill every batch slot, then carol's.
      const locked = Array.from({ length: 6 }, () => post('truth_locked', { likes: 1 }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const carols = await Promise.all(Array.from({ length: 3 }, () => timed(() => post('truth_carol', { likes: 1 }))));
      for (const { value, ms } of carols) {
        expect(value.status).toBe(200);
        expect(ms).toBeLessThan(3_000);
      }
      const lockedAnswers = await Promise.all(locked);
      expect(lockedAnswers.map((answer) => answer.status)).toEqual(Array(6).fill(503));
    } finally {
      await lock.release();
    }
    await writesSettled(pool);
    expect((await dbProfile(pool, 'truth_carol')).likes).toBe(carol.likes + 3);
    expect((await dbProfile(pool, 'truth_locked')).likes).toBe(5);
  });

  it('a write whose connection dies after it was sent answers 504 outcome-unknown; a retry with the same key applies it once', async () => {
    const before = await createProfile(pool, 'truth_cut', { likes: 0 });
    const key = `cut-${Date.now()}`;
    const lock = await holdRowLock('truth_cut');
    let answer: Awaited<ReturnType<typeof post>>;
    try {
      const pending = post('truth_cut', { likes: 1 }, { headers: { 'Idempotency-Key': key } });
      const pid = await waitFor(async () => {
        const { rows } = await pool.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
             AND (query LIKE '%apply_profile_deltas%' OR query LIKE 'UPDATE profiles%')`,
        );
        return rows[0]?.pid;
      }, 'the write to wait for the lock');
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      answer = await pending;
    } finally {
      await lock.release();
    }
    expect(answer.status).toBe(504);
    expect(answer.contentType).toContain('application/problem+json');
    expect(answer.body.type).toBe('urn:ripple:problem:outcome-unknown');
    expect(answer.body.detail).toMatch(/may or may not have been applied/);
    expect(answer.body.detail).toContain('Idempotency-Key');
    expect(answer.body.detail).not.toContain('nothing was changed');

    const retry = await post('truth_cut', { likes: 1 }, { headers: { 'Idempotency-Key': key } });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const again = await post('truth_cut', { likes: 1 }, { headers: { 'Idempotency-Key': key } });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(retry.body);
    expect((await dbProfile(pool, 'truth_cut')).likes).toBe(before.likes + 1);
  });

  describe('Idempotency-Key', () => {
    it('a retry answers the original 200 and profile with Idempotent-Replayed, and never applies twice', async () => {
      const before = await createProfile(pool, 'truth_idem', { likes: 0 });
      const key = `replay-${Date.now()}`;
      const first = await post('truth_idem', { likes: 2 }, { headers: { 'Idempotency-Key': key } });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ likes: 2, version: before.version + 1 });
      await post('truth_idem', { likes: 1 });
      const replay = await post('truth_idem', { likes: 2 }, { headers: { 'Idempotency-Key': key } });
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      // The original answer, not today's row.
      expect(replay.body).toEqual(first.body);
      expect((await dbProfile(pool, 'truth_idem')).likes).toBe(3);
    });

    it('concurrent duplicates of one key apply once; every one of them gets the same committed profile', async () => {
      const before = await createProfile(pool, 'truth_dup', { likes: 0 });
      const key = `dup-${Date.now()}`;
      const answers = await Promise.all(Array.from({ length: 20 }, () => post('truth_dup', { likes: 1 }, { headers: { 'Idempotency-Key': key } })));
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
      expect(answers.filter((answer) => answer.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
      for (const answer of answers) expect(answer.body).toEqual(answers[0].body);
      const after = await dbProfile(pool, 'truth_dup');
      expect(after.likes).toBe(1);
      expect(after.version).toBe(before.version + 1);
    });

    it('the same key with another username or body is a 422, and changes nothing', async () => {
      await createProfile(pool, 'truth_k1', { likes: 0 });
      await createProfile(pool, 'truth_k2', { likes: 0 });
      const key = `reuse-${Date.now()}`;
      expect((await post('truth_k1', { likes: 1 }, { headers: { 'Idempotency-Key': key } })).status).toBe(200);
      for (const [username, body] of [['truth_k2', { likes: 1 }], ['truth_k1', { likes: 2 }], ['truth_k1', { likes: 1, followers: 1 }]] as const) {
        const answer = await post(username, body, { headers: { 'Idempotency-Key': key } });
        expect(answer.status, `${username} ${JSON.stringify(body)}`).toBe(422);
        expect(answer.contentType).toContain('application/problem+json');
        expect(answer.body.detail).toContain('Idempotency-Key');
      }
      expect((await dbProfile(pool, 'truth_k1')).likes).toBe(1);
      expect((await dbProfile(pool, 'truth_k2')).likes).toBe(0);
    });

    it.each([
      ['empty', ''],
      ['too long', 'k'.repeat(101)],
      ['a space', 'two words'],
      ['a quote', '"abc"'],
      ['non-ASCII', 'clé'],
    ])('a key that is %s is a 422 and changes nothing', async (_name, key) => {
      const before = await createProfile(pool, 'truth_badkey', { likes: 0 });
      const answer = await post('truth_badkey', { likes: 1 }, { headers: { 'Idempotency-Key': key } });
      expect(answer.status).toBe(422);
      expect(answer.body.detail).toContain('Idempotency-Key');
      expect(await dbProfile(pool, 'truth_badkey')).toEqual(before);
    });

    it('a key of 100 allowed characters is accepted', async () => {
      await createProfile(pool, 'truth_longkey', { likes: 0 });
      const key = `${Date.now()}:_.-`.padEnd(100, 'Zz9');
      expect((await post('truth_longkey', { likes: 1 }, { headers: { 'Idempotency-Key': key } })).status).toBe(200);
    });
  });

  it('a read-only primary (SQLSTATE 25006) answers every write 503 "nothing was changed", never 500', async () => {
    await createProfile(pool, 'truth_ro_a', { likes: 0 });
    await createProfile(pool, 'truth_ro_b', { likes: 0 });
    const database = new URL(TEST_DATABASE_URL).pathname.slice(1);
    const dropConnections = () =>
      pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'`);
    await pool.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    try {
      // The web server's pooled connections predate the setting; new ones get it.
      await dropConnections();
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i % 2 ? 'truth_ro_a' : 'truth_ro_b', { likes: 1 })));
      const statuses = answers.map((answer) => answer.status);
      expect(statuses).toEqual(Array(40).fill(503));
      for (const answer of answers) {
        expect(answer.body.type).toBe('urn:ripple:problem:unavailable');
        expect(answer.body.detail).toContain('nothing was changed');
        expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    } finally {
      await pool.query(`ALTER DATABASE ${database} RESET default_transaction_read_only`);
      await dropConnections();
    }
    expect((await dbProfile(pool, 'truth_ro_a')).likes).toBe(0);
    expect((await dbProfile(pool, 'truth_ro_b')).likes).toBe(0);
    // Writable again. The server's idle connections were just terminated, so the
    // first write may go out on one that is already dead: a 504 then is the true
    // answer, and a retry with the same key is how a client finds out.
    const headers = { 'Idempotency-Key': `truth-ro-${Date.now()}` };
    let answer = await post('truth_ro_a', { likes: 1 }, { headers });
    for (let retry = 0; answer.status === 504 && retry < 3; retry += 1) answer = await post('truth_ro_a', { likes: 1 }, { headers });
    expect(answer.status).toBe(200);
    expect((await dbProfile(pool, 'truth_ro_a')).likes).toBe(1);
  });

  it('a client that hangs up mid-body is counted as the client hanging up (499), not as Postgres unavailable (503)', async () => {
    const before = await createProfile(pool, 'truth_hangup', { likes: 0 });
    const url = `${TEST_WEB_URL}/metrics`;
    const labels = { route: '/v1/profile/[username]', method: 'POST' };
    const count = async (status: string) => sample((await scrape(url)).text, 'ripple_http_requests_total', { ...labels, status }) ?? 0;
    const [unavailable, hungUp] = [await count('503'), await count('499')];
    for (let i = 0; i < 3; i += 1) {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(TEST_WEB_PORT, '127.0.0.1', () => {
          socket.write(
            'POST /v1/profile/truth_hangup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"likes":',
          );
          setTimeout(() => socket.destroy(), 200);
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
    }
    await waitFor(async () => (await count('499')) >= hungUp + 3, 'three hung-up requests to be counted');
    expect(await count('503')).toBe(unavailable);
    expect(await dbProfile(pool, 'truth_hangup')).toEqual(before);
  });
});
