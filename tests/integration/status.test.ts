import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { SystemStatus } from '@/lib/ops/status';
import { createProfile, testPool } from '../support/db';
import { LOCAL_PG_PORT, TEST_WEB_PORT, TEST_WEB_URL } from '../support/env';
import { get, openStream, post } from '../support/http';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';

const status = async () => {
  const response = await get('/v1/status');
  expect(response.status).toBe(200);
  return response.body as SystemStatus;
};

describe("GET /v1/status gathers every process's figures", () => {
  let pool: pg.Pool;
  let worker: Started;

  beforeAll(async () => {
    pool = testPool();
    worker = await startWorker();
  });

  afterAll(async () => {
    await worker?.stop();
    await pool?.end();
  });

  it('reports the health of each part and lists this web process and the worker', async () => {
    const first = await status();
    expect(first.postgres).toMatchObject({ ok: true, error: null });
    expect(first.redis).toMatchObject({ ok: true, error: null });
    expect(first.workers.ok).toBe(true);
    expect(first.web.list.map((web) => web.id)).toContain(first.web.self);
    // The worker announces again right after its first resync; wait for that one.
    const announced = await waitFor(
      async () => (await status()).workers.list.find((w) => w.pid === worker.child.pid && w.lastResync),
      'the announcement after the first resync',
    );
    expect(announced).toMatchObject({ listening: true, lastError: null });
    expect(announced.lastResync!.profiles).toBeGreaterThan(0);
  });

  it('its figures move when updates flow, on the web side and in the worker announcement', async () => {
    await createProfile(pool, 'status_user');
    // A web process hears only the profiles its streams watch.
    const stream = openStream(`${TEST_WEB_URL}/stream?u=status_user`);
    await waitFor(() => stream.events.some((event) => event.event === 'pipeline'), 'the stream to be open');
    const before = await status();
    const workerBefore = before.workers.list.find((w) => w.pid === worker.child.pid)!;
    for (let i = 0; i < 4; i += 1) expect((await post('status_user', { followers: 1 })).status).toBe(200);

    const after = await waitFor(async () => {
      const now = await status();
      const announced = now.workers.list.find((w) => w.pid === worker.child.pid);
      // received counts every notification; later stages may see fewer (a batch keeps a profile's newest change).
      return announced && announced.received >= workerBefore.received + 4 && now.web.stream.total > before.web.stream.total && now;
    }, 'the next worker announcement with the new notifications', 15_000);

    const announced = after.workers.list.find((w) => w.pid === worker.child.pid)!;
    expect(announced.queueUsage).toBeGreaterThanOrEqual(0);
    const recent = announced.commitToCache!.points.reduce((sum, point) => sum + point.count, 0);
    expect(recent).toBeGreaterThanOrEqual(1);
    expect(after.web.stream.histogram.counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(after.web.stream.points.some((point) => point.count > 0 && point.p50 !== null)).toBe(true);
    await stream.close();
  });

  it('says in plain words what is wrong when PostgreSQL does not answer, and still renders', async () => {
    // A second real web server whose DATABASE_URL points at a port where nothing listens.
    const deadPort = LOCAL_PG_PORT + 2;
    const port = TEST_WEB_PORT + 8;
    const web = await startWeb({ DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/ripple` }, port);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/status`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as SystemStatus;
      expect(body.postgres.ok).toBe(false);
      expect(body.postgres.error).toBe(`Nothing answers at 127.0.0.1:${deadPort}: PostgreSQL is not running there, or listens on another port.`);
      // The raw driver message goes to the log, not into the answer.
      expect(JSON.stringify(body)).not.toContain('ECONNREFUSED');
      await waitFor(() => /health: postgres check failed: .*ECONNREFUSED/.test(web.output()), 'the raw error in the log');
      expect(body.redis.ok).toBe(true);
      const page = await fetch(`http://127.0.0.1:${port}/status`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('PostgreSQL is not running there');
    } finally {
      await web.stop();
    }
  });

  it('lists every web process with its open streams, whichever process answers', async () => {
    const port = TEST_WEB_PORT + 9;
    const other = await startWeb({}, port);
    const controller = new AbortController();
    try {
      // A stream on the second process only; the first one answers /v1/status.
      const stream = await fetch(`http://127.0.0.1:${port}/stream?u=alice`, { signal: controller.signal });
      expect(stream.status).toBe(200);
      const seen = await waitFor(async () => {
        const body = await status();
        const web = body.web.list.find((process) => process.pid === other.child.pid);
        return web && web.openStreams >= 1 && body;
      }, 'the second web process to announce its open stream', 15_000);
      expect(seen.web.list.length).toBeGreaterThanOrEqual(2);
    } finally {
      controller.abort();
      await other.stop();
    }
  });
});
