import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateRedis, type PrivateRedis } from '../faults/servers';
import { LOCAL_REDIS_PORT, TEST_REDIS_PREFIX, TEST_WEB_PORT } from '../support/env';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';

// Issue 12, item 5: /v1/status and /healthz cost the same however many other
// keys Redis holds. Counted in commands on a private Redis (no clock involved):
// listing processes must never SCAN, and one answer costs a fixed few commands.
const port = TEST_WEB_PORT + 22;
const url = `http://127.0.0.1:${port}`;

async function commandStats(redis: Redis): Promise<{ total: number; scan: number }> {
  const info = await redis.info('commandstats');
  let total = 0;
  let scan = 0;
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    if (match[1] === 'info') continue;
    total += Number(match[2]);
    if (match[1] === 'scan') scan += Number(match[2]);
  }
  return { total, scan };
}

describe('process discovery without SCAN', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let web: Started;
  let worker: Started;

  beforeAll(async () => {
    server = privateRedis(LOCAL_REDIS_PORT + 5);
    await server.start();
    redis = new Redis(server.url);
    // 50,000 keys that are none of Ripple's business.
    for (let batch = 0; batch < 50; batch += 1) {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1000; i += 1) pipeline.set(`unrelated:${batch}:${i}`, 'x');
      await pipeline.exec();
    }
    const env = { REDIS_URL: server.url };
    worker = await startWorker(env);
    web = await startWeb(env, port);
  });

  afterAll(async () => {
    await Promise.all([web?.stop(), worker?.stop()]);
    redis?.disconnect();
    await server?.stop();
  });

  it('lists workers and web processes with a fixed few commands and no SCAN, with 50,000 unrelated keys', async () => {
    expect(await redis.dbsize()).toBeGreaterThan(50_000);
    await waitFor(async () => (await fetch(`${url}/healthz`)).status === 200, 'a healthy system');
    await redis.config('RESETSTAT');
    const status = await fetch(`${url}/v1/status`);
    expect(status.status).toBe(200);
    const body = (await status.json()) as { workers: { list: unknown[] }; web: { list: unknown[] } };
    expect(body.workers.list).toHaveLength(1);
    expect(body.web.list).toHaveLength(1);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const used = await commandStats(redis);
    expect(used.scan).toBe(0);
    // Announcements, the listing scripts, pings, the read of one status: a handful, not thousands.
    expect(used.total).toBeLessThan(40);
  });

  it('answers /v1/status from a one-second cache: many pollers cost Redis one read', async () => {
    await fetch(`${url}/v1/status`);
    await redis.config('RESETSTAT');
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/v1/status`).then((r) => r.json() as Promise<{ at: string }>)));
    const used = await commandStats(redis);
    expect(new Set(answers.map((answer) => answer.at)).size).toBeLessThanOrEqual(2);
    expect(used.total).toBeLessThan(30);
  });

  it('a stopped process leaves the list at once; announcements live in one hash and one sorted set per kind', async () => {
    const other = await startWeb({ REDIS_URL: server.url }, port + 1);
    await waitFor(async () => ((await (await fetch(`${url}/v1/status`)).json()) as { web: { list: unknown[] } }).web.list.length === 2, 'two web processes listed', 5_000);
    await other.stop();
    await waitFor(async () => ((await (await fetch(`${url}/v1/status`)).json()) as { web: { list: unknown[] } }).web.list.length === 1, 'the stopped one gone', 5_000);
    const keys = await redis.keys(`${TEST_REDIS_PREFIX}*`);
    expect(keys.filter((key) => /\{(web|worker)\}/.test(key)).sort()).toEqual([
      `${TEST_REDIS_PREFIX}{web}:announced`, `${TEST_REDIS_PREFIX}{web}:expires`, `${TEST_REDIS_PREFIX}{worker}:announced`, `${TEST_REDIS_PREFIX}{worker}:expires`,
    ]);
  });
});
