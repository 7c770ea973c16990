import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createProfile, dbProfile, testPool } from '../support/db';
import { TEST_LIMITED_WEB_PORT } from '../support/env';
import { startWeb, type Started } from '../support/processes';

const base = `http://127.0.0.1:${TEST_LIMITED_WEB_PORT}`;

async function like(headers: Record<string, string> = {}, username = 'limits_user') {
  const response = await fetch(`${base}/v1/profile/${username}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ likes: 1 }),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

// A web server of its own with small limits, so the limits can be reached quickly.
// It trusts X-Forwarded-For from loopback (TRUST_PROXY), as behind a local proxy,
// so each test can be a client of its own.
describe('who may write, and how often', () => {
  let pool: pg.Pool;
  let web: Started;

  beforeAll(async () => {
    pool = testPool();
    await createProfile(pool, 'limits_user');
    web = await startWeb({ RATE_LIMIT_BURST: '5', RATE_LIMIT_PER_SECOND: '1', MAX_STREAMS_PER_CLIENT: '2', TRUST_PROXY: 'loopback' }, TEST_LIMITED_WEB_PORT);
  });

  afterAll(async () => {
    await web?.stop();
    await pool?.end();
  });

  it('refuses cross-site browser writes with 403, and changes nothing', async () => {
    const before = await dbProfile(pool, 'limits_user');
    const crossSite: Array<Record<string, string>> = [
      { Origin: 'https://evil.example' },
      { Origin: 'null' },
      { Origin: `http://127.0.0.1:${TEST_LIMITED_WEB_PORT + 1}` },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
    ];
    for (const headers of crossSite) {
      const response = await like({ ...headers, 'X-Forwarded-For': `203.0.113.${Math.floor(Math.random() * 250)}` });
      expect(response.status).toBe(403);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.body.detail).toMatch(/Cross-site writes are refused/);
    }
    expect(await dbProfile(pool, 'limits_user')).toEqual(before);
  });

  it('accepts same-origin browser writes', async () => {
    const response = await like({ Origin: base, 'Sec-Fetch-Site': 'same-origin', 'X-Forwarded-For': '198.51.100.1' });
    expect(response.status).toBe(200);
  });

  it('rate-limits writes per client with 429 and Retry-After; other clients are unaffected', async () => {
    const client = { 'X-Forwarded-For': '198.51.100.77' };
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof like>> | undefined;
    for (let i = 0; i < 8; i += 1) {
      const response = await like(client);
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
    }
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses).toContain(429);
    expect(limited!.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await like({ 'X-Forwarded-For': '198.51.100.78' })).status).toBe(200);
  });

  it('caps open streams per client', async () => {
    const headers = { 'X-Forwarded-For': '198.51.100.90' };
    const controllers = [new AbortController(), new AbortController()];
    try {
      for (const controller of controllers) {
        expect((await fetch(`${base}/stream?u=alice`, { headers, signal: controller.signal })).status).toBe(200);
      }
      const third = await fetch(`${base}/stream?u=alice`, { headers });
      expect(third.status).toBe(429);
      expect(third.headers.get('content-type')).toContain('application/problem+json');
    } finally {
      for (const controller of controllers) controller.abort();
    }
    // Closing a stream gives its slot back.
    const controller = new AbortController();
    const reopened = await waitForStatus(`${base}/stream?u=alice`, headers, controller);
    controller.abort();
    expect(reopened).toBe(200);
  });

  it('sends security headers on pages and on the API', async () => {
    const page = await fetch(`${base}/alice`);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'.*script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    const api = await fetch(`${base}/v1/profile/alice`);
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

async function waitForStatus(url: string, headers: Record<string, string>, controller: AbortController): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const response = await fetch(url, { headers, signal: controller.signal });
    if (response.status === 200 || Date.now() > deadline) return response.status;
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
