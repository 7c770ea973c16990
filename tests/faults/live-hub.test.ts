import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { dropDatabase } from '../../lib/migrate';
import type { Profile } from '../../lib/profile';
import { LIVE_DATABASE_URL, LIVE_PROXY_PORT, LIVE_REDIS_PORT, LIVE_REDIS_PREFIX, LIVE_WEB_PORT } from '../support/env';
import { openStream } from '../support/http';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';
import { recreateDatabase } from '../support/private-system';
import { shown } from '../support/stream-client';
import { pause } from './fixture';
import { startRedisProxy, type RedisProxy } from './proxy';
import { privateRedis } from './servers';

// A web process's one Redis subscription, under the faults that used to leave
// it deaf while /healthz said ok. Each ends with an open stream showing
// Postgres' value after a change made while the subscription was not there.
describe('the live hub keeps its subscription, and says when it has none', () => {
  const redisServer = privateRedis(LIVE_REDIS_PORT);
  const web = `http://127.0.0.1:${LIVE_WEB_PORT}`;
  const env = (redisUrl: string) => ({ DATABASE_URL: LIVE_DATABASE_URL, REDIS_URL: redisUrl, REDIS_PREFIX: LIVE_REDIS_PREFIX, LOG_LEVEL: 'info' });
  let pool: pg.Pool;
  let processes: Started[] = [];
  let proxy: RedisProxy | undefined;
  let stream: ReturnType<typeof openStream> | undefined;

  beforeAll(async () => {
    await redisServer.start();
    pool = new pg.Pool({ connectionString: LIVE_DATABASE_URL, max: 2 });
    // Each test creates the database again under it.
    pool.on('error', () => undefined);
  });
  afterEach(async () => {
    await stream?.close();
    stream = undefined;
    await Promise.all(processes.map((p) => p.stop()));
    processes = [];
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await pool.end();
    await redisServer.stop();
    await dropDatabase(LIVE_DATABASE_URL);
  });

  async function alice(): Promise<Profile> {
    const { rows } = await pool.query<{ profile: Profile }>("SELECT profile_json(p) AS profile FROM profiles p WHERE username = 'alice'");
    return rows[0].profile;
  }

  const health = async () => {
    const response = await fetch(`${web}/healthz`);
    return { status: response.status, body: await response.json() };
  };

  /** POSTs a click, then waits for the open stream to show exactly what Postgres holds. */
  async function clickReachesTheStream(withinMs: number): Promise<number> {
    const response = await fetch(`${web}/v1/profile/alice`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"likes":1}' });
    expect(response.status).toBe(200);
    const started = Date.now();
    const committed = await alice();
    await waitFor(() => JSON.stringify(shown(stream!.events).profiles.get('alice')) === JSON.stringify(committed), 'the open stream to show the click', withinMs);
    return Date.now() - started;
  }

  it('a hub created while Redis is down (the first /healthz or /v1/status is enough) subscribes once Redis is back, and /healthz says which until then', async () => {
    await recreateDatabase(LIVE_DATABASE_URL);
    await redisServer.stop();
    // startWeb waits on /healthz, which creates the hub: during the outage.
    processes.push(await startWeb(env(redisServer.url), LIVE_WEB_PORT));
    const during = await health();
    expect(during.status).toBe(503);
    expect(during.body.down).toContain('live');
    expect(during.body.live).toMatchObject({ ok: false, subscribed: false, pipeline: { live: false } });

    await redisServer.start();
    processes.push(await startWorker(env(redisServer.url)));
    await waitFor(async () => (await health()).status === 200, '/healthz to say ok', 10_000);
    expect((await health()).body.live).toMatchObject({ ok: true, subscribed: true });

    stream = openStream(`${web}/stream?u=alice`);
    await waitFor(() => shown(stream!.events).profiles.has('alice'), 'the snapshot');
    console.log(`[live-hub] born in an outage: a click reached the stream in ${await clickReachesTheStream(5_000)} ms`);
  });

  it('a SUBSCRIBE that Redis confirms only after the 3 s wait (no disconnect): a fresh snapshot follows the confirmation', async () => {
    await recreateDatabase(LIVE_DATABASE_URL);
    proxy = await startRedisProxy(LIVE_PROXY_PORT, LIVE_REDIS_PORT);
    proxy.delaySubscribe(8_000);
    processes.push(await startWorker(env(redisServer.url)));
    processes.push(await startWeb(env(proxy.url), LIVE_WEB_PORT));
    stream = openStream(`${web}/stream?u=alice`);
    // The snapshot goes out after 3 s, before Redis has the subscription...
    await waitFor(() => shown(stream!.events).profiles.has('alice'), 'the snapshot', 10_000);
    expect(shown(stream.events).pipeline.at(-1)).toMatchObject({ live: false });
    // ...so the change this click publishes is heard by nobody in this process.
    console.log(`[live-hub] slow SUBSCRIBE: a click reached the stream in ${await clickReachesTheStream(8_000)} ms`);
    expect(shown(stream.events).pipeline.at(-1)).toEqual({ live: true });
  });

  it('a subscription whose connection dies silently (no bytes, no close) is noticed by PING and replaced', async () => {
    await recreateDatabase(LIVE_DATABASE_URL);
    proxy = await startRedisProxy(LIVE_PROXY_PORT, LIVE_REDIS_PORT);
    processes.push(await startWorker(env(redisServer.url)));
    processes.push(await startWeb(env(proxy.url), LIVE_WEB_PORT));
    stream = openStream(`${web}/stream?u=alice`);
    await waitFor(() => shown(stream!.events).pipeline.at(-1)?.live === true, 'the stream to say changes flow', 10_000);
    expect(proxy.blackholeSubscribers()).toBe(1);
    await pause(100);
    console.log(`[live-hub] silent subscriber death: a click reached the stream in ${await clickReachesTheStream(12_000)} ms`);
    expect(stream.ended()).toBe(false);
  });

  it('a worker says at start when Redis may evict any key (an evicted key loses the version the gate orders by)', async () => {
    await recreateDatabase(LIVE_DATABASE_URL);
    const admin = new Redis(redisServer.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const worker = await startWorker(env(redisServer.url));
      processes.push(worker);
      expect(worker.output()).toMatch(/maxmemory-policy allkeys-lru.*noeviction or a volatile-\* policy/);
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      admin.disconnect();
    }
  });
});
