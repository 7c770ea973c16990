import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_WEB_PORT } from '../support/env';
import { startWeb, type Started } from '../support/processes';

// Issue 12, item 6 (the read limit; the negative cache is its other half):
// reads per client are limited, generously, and the web processes share one
// count through Redis. Two separate web servers stand in for two processes.
const ports = [TEST_WEB_PORT + 24, TEST_WEB_PORT + 25];
const WINDOW_MS = 10_000;

async function read(port: number, path = '/v1/profile/alice') {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  await response.arrayBuffer();
  return response;
}

describe('the read rate limit', () => {
  let webs: Started[];

  beforeAll(async () => {
    // 3 per second: 30 reads per client in each 10-second window, across both servers.
    webs = await Promise.all(ports.map((port) => startWeb({ READ_RATE_LIMIT_PER_SECOND: '3' }, port)));
  });

  afterAll(async () => {
    await Promise.all(webs.map((web) => web.stop()));
  });

  it('counts API and page reads of one client across web processes, and answers 429 with Retry-After past the limit', async () => {
    // Start early in a window, so that the count is not reset half-way.
    const into = Date.now() % WINDOW_MS;
    if (into > 4_000) await new Promise((resolve) => setTimeout(resolve, WINDOW_MS - into + 50));
    const first: number[] = [];
    for (let i = 0; i < 20; i += 1) first.push((await read(ports[0], i % 2 ? '/alice' : '/v1/profile/alice')).status);
    expect(first.every((status) => status === 200)).toBe(true);
    // Each process adds its count to Redis every 100 ms.
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Spread over a few flushes: a process learns the shared total at its own next flush,
    // so within one flush interval (100 ms) it may admit more (the documented overshoot).
    const second: Response[] = [];
    for (let i = 0; i < 20; i += 1) {
      second.push(await read(ports[1]));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const refused = second.filter((response) => response.status === 429);
    // 30 allowed in all: the second server refuses about 10 of its 20, not none.
    expect(refused.length).toBeGreaterThanOrEqual(8);
    expect(refused[0].headers.get('content-type')).toContain('application/problem+json');
    expect(Number(refused[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Health checks and streams are not reads that count.
    expect((await read(ports[1], '/healthz')).status).not.toBe(429);
  });
});
