import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { createProfile, dbProfile, testCache, testPool, testRedis } from '../support/db';
import { get, openStream, post } from '../support/http';
import { startWorker, waitFor, type Started } from '../support/processes';
import { shown } from '../support/stream-client';

function expectProblem(response: { status: number; contentType: string; body: Record<string, unknown> }, status: number) {
  expect(response.status).toBe(status);
  expect(response.contentType).toContain('application/problem+json');
  expect(response.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
}

describe('the HTTP contract', () => {
  let pool: pg.Pool;
  let redis: Redis;
  let worker: Started;

  beforeAll(async () => {
    pool = testPool();
    redis = testRedis();
    worker = await startWorker();
    await createProfile(pool, 'contract', { followers: 5, followings: 5, likes: 0 });
  });

  afterAll(async () => {
    await worker?.stop();
    redis?.disconnect();
    await pool?.end();
  });

  describe('GET /v1/profile/{username}', () => {
    it('200: the profile in its contract shape', async () => {
      const response = await get('/v1/profile/contract');
      expect(response.status).toBe(200);
      expect(Object.keys(response.body).sort()).toEqual(['bio', 'displayName', 'followers', 'followings', 'likes', 'updatedAt', 'username', 'version']);
      expect(response.body).toEqual(await dbProfile(pool, 'contract'));
    });

    it('404: unknown, or not a username at all', async () => {
      expectProblem(await get('/v1/profile/nobody_here'), 404);
      expectProblem(await get('/v1/profile/Alice'), 404);
      expectProblem(await get(`/v1/profile/${'a'.repeat(16)}`), 404);
    });

    it('a cache miss falls back to Postgres and fills the cache', async () => {
      const cache = testCache(redis);
      await redis.del(cache.key('contract'));
      const response = await get('/v1/profile/contract');
      expect(response.status).toBe(200);
      expect(await cache.get('contract')).toEqual(response.body);
    });
  });

  describe('POST /v1/profile/{username}', () => {
    it('200: the profile as committed', async () => {
      const before = await dbProfile(pool, 'contract');
      const response = await post('contract', { followers: 2, likes: 3 });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ followers: before.followers + 2, likes: before.likes + 3, version: before.version + 1 });
      expect(response.body).toEqual(await dbProfile(pool, 'contract'));
    });

    it('400: the body is not valid JSON', async () => {
      expectProblem(await post('contract', null, { raw: '{"likes": 1' }), 400);
      expectProblem(await post('contract', null, { raw: '' }), 400);
    });

    it.each([
      ['no counter', {}],
      ['an unknown key', { likes: 1, shares: 1 }],
      ['a float', { likes: 0.5 }],
      ['a string', { likes: '1' }],
      ['out of range', { likes: 1001 }],
      ['an array', [{ likes: 1 }]],
      ['a zero delta', { likes: 0 }],
      ['a zero beside a real change', { likes: 1, followers: 0 }],
    ])('422: %s', async (_name, body) => {
      expectProblem(await post('contract', body), 422);
    });

    it('404: unknown profile', async () => {
      expectProblem(await post('nobody_here', { likes: 1 }), 404);
    });

    it('409: a counter would go below zero, and nothing changes', async () => {
      const before = await dbProfile(pool, 'contract');
      const response = await post('contract', { followers: 1, likes: -(before.likes + 1) });
      expectProblem(response, 409);
      expect(response.body.detail).toMatch(/Likes can't go below zero/);
      expect(await dbProfile(pool, 'contract')).toEqual(before);
    });

    it('413: a body over 1 KiB', async () => {
      expectProblem(await post('contract', null, { raw: JSON.stringify({ likes: 1, pad: 'x'.repeat(1100) }) }), 413);
    });

    it('415: not application/json', async () => {
      expectProblem(await post('contract', { likes: 1 }, { contentType: 'text/plain' }), 415);
      expectProblem(await post('contract', { likes: 1 }, { contentType: null }), 415);
    });

    it('415: a charset other than UTF-8, with a detail that says to send UTF-8', async () => {
      const before = await dbProfile(pool, 'contract');
      const response = await post('contract', { likes: 1 }, { contentType: 'application/json; charset=utf-16' });
      expectProblem(response, 415);
      expect(response.body.detail).toContain('UTF-8');
      expect(await dbProfile(pool, 'contract')).toEqual(before);
    });

    it('accepts application/json with a charset', async () => {
      expect((await post('contract', { likes: 1 }, { contentType: 'application/json; charset=utf-8' })).status).toBe(200);
    });
  });

  describe('GET /stream', () => {
    it('a narrowed stream starts with a snapshot, then sends changes, with heartbeats', async () => {
      const stream = openStream('/stream?u=contract&u=alice');
      try {
        await waitFor(() => stream.profiles().length >= 2, 'the snapshot');
        expect(stream.status()).toBe(200);
        expect(stream.headers()?.get('content-type')).toContain('text/event-stream');
        expect(stream.headers()?.get('cache-control')).toContain('no-transform');
        // A write from the test before may still be on its way and follow the snapshot as a newer frame.
        expect([...new Set(stream.profiles().map((p) => p.username))].sort()).toEqual(['alice', 'contract']);

        const committed = (await post('contract', { likes: 1 })).body as { version: number };
        await post('bob', { likes: 1 });
        const seen = await waitFor(() => stream.profiles().find((p) => p.username === 'contract' && p.version === committed.version), 'the change');
        expect(seen).toBeTruthy();
        expect(stream.profiles().some((p) => p.username === 'bob')).toBe(false);
        // SSE_HEARTBEAT_MS is 300 in tests.
        await waitFor(() => stream.comments() >= 3, 'heartbeat comments');
      } finally {
        await stream.close();
      }
    });

    it('an unfiltered stream sends every change and no snapshot', async () => {
      const stream = openStream('/stream');
      try {
        await waitFor(() => stream.comments() >= 1, 'the stream to open');
        expect(stream.profiles()).toEqual([]);
        const committed = (await post('bob', { followers: 1 })).body as { version: number };
        await waitFor(() => stream.profiles().find((p) => p.username === 'bob' && p.version === committed.version), 'the change');
      } finally {
        await stream.close();
      }
    });

    it('every stream says its epoch first, then the snapshot, then whether changes flow', async () => {
      const stream = openStream('/stream?u=contract&u=alice');
      try {
        await waitFor(() => stream.events.some((e) => e.event === 'pipeline'), 'the pipeline event');
        const kinds = stream.events.map((e) => e.event);
        expect(kinds.slice(0, 4)).toEqual(['epoch', 'profile', 'profile', 'pipeline']);
        expect(JSON.parse(stream.events[0].data)).toEqual({ epoch: expect.stringMatching(/^[0-9.]+$/) });
        // A worker runs: once this process has seen it, changes flow.
        await waitFor(() => shown(stream.events).pipeline.at(-1)?.live === true, 'pipeline live', 5_000);
      } finally {
        await stream.close();
      }
    });

    it('unknown names: an `unknown` event after the snapshot; all unknown, a 404 problem naming them', async () => {
      const stream = openStream('/stream?u=contract&u=nobody_here&u=nobody_else');
      try {
        await waitFor(() => stream.events.some((e) => e.event === 'pipeline'), 'the opening events');
        expect(stream.events.map((e) => e.event).slice(0, 4)).toEqual(['epoch', 'profile', 'unknown', 'pipeline']);
        expect(JSON.parse(stream.events[2].data)).toEqual({ usernames: ['nobody_here', 'nobody_else'] });
      } finally {
        await stream.close();
      }
      const missing = await get('/stream?u=nobody_here&u=nobody_else@3');
      expectProblem(missing, 404);
      expect(missing.body).toMatchObject({ type: 'urn:ripple:problem:not-found', usernames: ['nobody_here', 'nobody_else'] });
      expect(missing.body.detail).toMatch(/@nobody_here, @nobody_else/);
    });

    it('u=name@version snapshots a profile only when the server knows a newer version', async () => {
      const current = await dbProfile(pool, 'contract');
      await post('alice', { likes: 1 });
      const alice = await dbProfile(pool, 'alice');
      const stream = openStream(`/stream?u=contract@${current.version}&u=alice@${alice.version - 1}`);
      try {
        await waitFor(() => stream.events.some((e) => e.event === 'pipeline'), 'the opening events');
        expect(stream.profiles().map((p) => p.username)).toEqual(['alice']);
        // Later changes to the profile it already showed still arrive.
        const committed = (await post('contract', { likes: 1 })).body as { version: number };
        await waitFor(() => stream.profiles().some((p) => p.username === 'contract' && p.version === committed.version), 'the change');
      } finally {
        await stream.close();
      }
    });

    it('versions from another epoch (epoch=) are ignored: the snapshot is whole', async () => {
      const current = await dbProfile(pool, 'contract');
      const stream = openStream(`/stream?u=contract@${current.version}&epoch=1.2.3.4.5`);
      try {
        await waitFor(() => stream.profiles().some((p) => p.username === 'contract'), 'the snapshot');
      } finally {
        await stream.close();
      }
    });

    it('an unfiltered stream sends its epoch and pipeline events, but no snapshot and no unknown', async () => {
      const stream = openStream('/stream');
      try {
        await waitFor(() => stream.events.some((e) => e.event === 'pipeline'), 'the opening events');
        expect(stream.events.map((e) => e.event)).toEqual(['epoch', 'pipeline']);
      } finally {
        await stream.close();
      }
    });

    it('422: more than 50 names, a u that is not a username, or a bad @version', async () => {
      const many = Array.from({ length: 51 }, (_, i) => `u=user${i}`).join('&');
      expectProblem(await get(`/stream?${many}`), 422);
      expectProblem(await get('/stream?u=Bad%20Name'), 422);
      expectProblem(await get('/stream?u=alice@0'), 422);
      expectProblem(await get('/stream?u=alice@x'), 422);
    });

    it('HEAD answers without opening a stream', async () => {
      const response = await fetch(`${(await import('../support/env')).TEST_WEB_URL}/stream?u=alice`, { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
    });
  });

  describe('GET /healthz', () => {
    it('200 while Postgres, Redis and a worker are up; 503 naming the worker once it is gone', async () => {
      const healthy = await get('/healthz');
      expect(healthy.status).toBe(200);
      expect(healthy.body).toMatchObject({ status: 'ok', postgres: { ok: true }, redis: { ok: true }, worker: { ok: true } });
      expect(healthy.body.worker.notificationQueueUsage).toBeGreaterThanOrEqual(0);
      expect(healthy.body.worker.workers[0]).toMatchObject({ listening: true, lastResync: { profiles: expect.any(Number) } });

      await worker.stop();
      const down = await get('/healthz');
      expectProblem(down, 503);
      expect(down.body.down).toEqual(['worker']);
      worker = await startWorker();
      await waitFor(async () => (await get('/healthz')).status === 200, 'health to come back');
    });
  });
});
