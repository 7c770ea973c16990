import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createProfile, dbProfile, testPool } from '../support/db';
import { TEST_WEB_PORT } from '../support/env';
import { startWeb, waitFor, type Started } from '../support/processes';

// Issue 12's attacks, tried from the outside against real web launchers (each
// test fails on a Next server started without one).
const PORT = TEST_WEB_PORT + 20;
const PROXIED_PORT = TEST_WEB_PORT + 21;
const base = `http://127.0.0.1:${PORT}`;
const proxied = `http://127.0.0.1:${PROXIED_PORT}`;
const TOKEN = 'operator-token-for-tests-0123456789';

async function like(url: string, username: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/v1/profile/${username}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: '{"likes": 1}' });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => null) };
}

/** Raw HTTP/1.1 over one socket (send Connection: close), so Host and the socket's life are ours to choose. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // write, not end: a client that half-closes has, to Node, given up on its answer.
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('safe on a network', () => {
  let pool: pg.Pool;
  let web: Started;
  let behindProxy: Started;

  beforeAll(async () => {
    pool = testPool();
    for (const name of ['net_forged', 'net_proxied', 'net_rebind']) await createProfile(pool, name);
    const limits = { RATE_LIMIT_BURST: '5', RATE_LIMIT_PER_SECOND: '0.5', MAX_STREAMS_PER_CLIENT: '3', MAX_STREAMS_PER_PROCESS: '5' };
    web = await startWeb({ ...limits, HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000', MAX_CONNECTIONS: '60' }, PORT);
    behindProxy = await startWeb({ ...limits, TRUST_PROXY: 'loopback', OPERATOR_TOKEN: TOKEN }, PROXIED_PORT);
  });

  afterAll(async () => {
    await Promise.all([web?.stop(), behindProxy?.stop()]);
    await pool?.end();
  });

  describe('1. the client is the socket unless TRUST_PROXY says otherwise', () => {
    it('a forged X-Forwarded-For from an untrusted peer changes nothing: a new value per request still hits the limit', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i += 1) statuses.push((await like(base, 'net_forged', { 'X-Forwarded-For': `203.0.113.${i + 1}` })).status);
      expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(6);
      expect(statuses).toContain(429);
    });

    it('forging a victim\'s address does not lock the victim out', async () => {
      // Behind a trusted proxy the victim is 198.51.100.50; an untrusted peer claiming to be it is only itself.
      for (let i = 0; i < 8; i += 1) await like(base, 'net_forged', { 'X-Forwarded-For': '198.51.100.50' });
      expect((await like(proxied, 'net_proxied', { 'X-Forwarded-For': '198.51.100.50' })).status).toBe(200);
    });

    it('streams are capped per client whatever X-Forwarded-For says', async () => {
      const controllers: AbortController[] = [];
      // Held until the end: fetch cancels the body of a Response that is
      // garbage collected, which would close that stream and free its slot.
      const responses: Response[] = [];
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 4; i += 1) {
          const controller = new AbortController();
          controllers.push(controller);
          const response = await fetch(`${base}/stream?u=alice`, { headers: { 'X-Forwarded-For': `203.0.113.${100 + i}` }, signal: controller.signal });
          responses.push(response);
          statuses.push(response.status);
        }
        expect(statuses).toEqual([200, 200, 200, 429]);
      } finally {
        for (const controller of controllers) controller.abort();
        await Promise.all(responses.map((response) => response.body?.cancel().catch(() => undefined)));
      }
    });

    it('with TRUST_PROXY the right hop is the client: the nearest untrusted address, ports and IPv4-mapped forms folded', async () => {
      // Five writes per client: the sixth of one client is refused, another client is not.
      const forms = ['198.51.100.7', '198.51.100.7:5555', '::ffff:198.51.100.7', '[::ffff:198.51.100.7]:80', '203.0.113.250, 198.51.100.7'];
      for (const form of forms) expect((await like(proxied, 'net_proxied', { 'X-Forwarded-For': form })).status, form).toBe(200);
      expect((await like(proxied, 'net_proxied', { 'X-Forwarded-For': '198.51.100.7' })).status).toBe(429);
      expect((await like(proxied, 'net_proxied', { 'X-Forwarded-For': '198.51.100.7, 198.51.100.8' })).status).toBe(200);
    });

    it('IPv6 clients share one limit per /56', async () => {
      for (let i = 0; i < 5; i += 1) expect((await like(proxied, 'net_proxied', { 'X-Forwarded-For': `2001:db8:7:${i}::${i + 1}` })).status).toBe(200);
      expect((await like(proxied, 'net_proxied', { 'X-Forwarded-For': '2001:db8:7:ff::1' })).status).toBe(429);
      expect((await like(proxied, 'net_proxied', { 'X-Forwarded-For': '2001:db8:7:100::1' })).status).toBe(200);
    });
  });

  describe('2. connections are bounded', () => {
    it('slow clients are cut off at the deadlines, the connection ceiling holds, and an ordinary client is still served', async () => {
      const sockets: net.Socket[] = [];
      const closedAt: number[] = [];
      const started = Date.now();
      try {
        // Headers and one byte of a ten-byte body, then nothing: each holds a connection.
        for (let i = 0; i < 80; i += 1) {
          const socket = net.connect(PORT, '127.0.0.1');
          socket.on('error', () => undefined);
          // Read whatever comes (an early 429, a 408), so the server's close is seen.
          socket.resume();
          socket.on('close', () => closedAt.push(Date.now() - started));
          socket.write(`POST /v1/profile/alice HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{`);
          sockets.push(socket);
        }
        // Past MAX_CONNECTIONS (60) the server closes new connections at once.
        await waitFor(() => closedAt.length >= 20, 'the connections past the ceiling to be closed', 3_000);
        // REQUEST_TIMEOUT_MS (2 s) ends the rest, well before Node's 300 s.
        await waitFor(() => closedAt.length === 80, `every slow connection to be closed (${closedAt.length} were)`, 6_000);
        expect(Math.max(...closedAt)).toBeLessThan(6_000);
        const response = await fetch(`${base}/v1/profile/alice`);
        expect(response.status).toBe(200);
      } finally {
        for (const socket of sockets) socket.destroy();
      }
    });

    it('a refusal sent before its small body arrived leaves the connection usable for the next request', async () => {
      const socket = net.connect(PORT, '127.0.0.1');
      socket.on('error', () => undefined);
      let answer = '';
      let closed = false;
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('close', () => (closed = true));
      try {
        // Headers first; the body follows only once the 403 is in (a browser's upload can lag its headers).
        socket.write(`POST /v1/profile/net_forged HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nContent-Type: application/json\r\nOrigin: https://evil.example\r\nContent-Length: 12\r\n\r\n`);
        await waitFor(() => /^HTTP\/1\.1 403 /.test(answer), 'the 403 before the body was sent', 5_000);
        socket.write('{"likes": 1}');
        socket.write(`GET /v1/profile/net_forged HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\n\r\n`);
        await waitFor(() => /HTTP\/1\.1 200 /.test(answer), 'the next request on the same connection to be answered', 5_000);
        expect(closed).toBe(false);
      } finally {
        socket.destroy();
      }
    });

    it('a client that trickles its headers is cut off at the header deadline', async () => {
      const socket = net.connect(PORT, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.resume();
      const closed = new Promise<number>((resolve) => {
        const at = Date.now();
        socket.on('close', () => resolve(Date.now() - at));
      });
      socket.write('GET /v1/profile/alice HTTP/1.1\r\n');
      const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
      try {
        expect(await closed).toBeLessThan(5_000);
      } finally {
        clearInterval(drip);
      }
    });

    it('caps the open streams of a process, answering 503 with Retry-After', async () => {
      const controllers: AbortController[] = [];
      // Held until the end: fetch cancels the body of a Response that is
      // garbage collected, which would close that stream and free its slot.
      const responses: Response[] = [];
      try {
        const statuses: number[] = [];
        // Through the proxied server, so each stream can be a client of its own and the per-client cap stays out of the way.
        for (let i = 0; i < 6; i += 1) {
          const controller = new AbortController();
          controllers.push(controller);
          const response = await fetch(`${proxied}/stream?u=alice`, { headers: { 'X-Forwarded-For': `192.0.2.${i + 1}` }, signal: controller.signal });
          responses.push(response);
          statuses.push(response.status);
          if (response.status === 503) {
            expect(response.headers.get('retry-after')).toBe('5');
            expect(response.headers.get('content-type')).toContain('application/problem+json');
          }
        }
        expect(statuses).toEqual([200, 200, 200, 200, 200, 503]);
      } finally {
        for (const controller of controllers) controller.abort();
        await Promise.all(responses.map((response) => response.body?.cancel().catch(() => undefined)));
      }
    });
  });

  describe('3. no DNS rebinding', () => {
    it('refuses a request whose Host is not allowed, before any route', async () => {
      const before = await dbProfile(pool, 'net_rebind');
      const body = '{"likes": 1}';
      const post = await rawRequest(PORT, `POST /v1/profile/net_rebind HTTP/1.1\r\nHost: evil.example:${PORT}\r\nOrigin: http://evil.example:${PORT}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      expect(post).toMatch(/^HTTP\/1\.1 421/);
      expect(post).toContain('application/problem+json');
      for (const path of ['/v1/status', '/metrics', '/v1/profile/alice', '/alice', '/healthz']) {
        expect(await rawRequest(PORT, `GET ${path} HTTP/1.1\r\nHost: evil.example:${PORT}\r\nConnection: close\r\n\r\n`), path).toMatch(/^HTTP\/1\.1 421/);
      }
      expect(await dbProfile(pool, 'net_rebind')).toEqual(before);
    });

    it('compares a write\'s Origin with the public origin, not with Host', async () => {
      // Through the proxied server, as a client of its own, so no earlier test's rate limit is in the way.
      const refused = await rawRequest(PROXIED_PORT, `POST /v1/profile/net_rebind HTTP/1.1\r\nHost: localhost:${PROXIED_PORT}\r\nX-Forwarded-For: 192.0.2.200\r\nOrigin: http://localhost:${PROXIED_PORT + 1}\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"likes": 1}`);
      expect(refused).toMatch(/^HTTP\/1\.1 403/);
      const accepted = await rawRequest(PROXIED_PORT, `POST /v1/profile/net_rebind HTTP/1.1\r\nHost: localhost:${PROXIED_PORT}\r\nX-Forwarded-For: 192.0.2.200\r\nOrigin: http://localhost:${PROXIED_PORT}\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"likes": 1}`);
      expect(accepted).toMatch(/^HTTP\/1\.1 200/);
    });
  });

  describe('4. operator endpoints are private away from loopback', () => {
    const remote = { 'X-Forwarded-For': '203.0.113.77' };

    it('refuses /metrics, /v1/status and /status without the token, and serves them with it', async () => {
      for (const path of ['/metrics', '/v1/status', '/status', '//v1/status', '/v1/%73tatus', '/status/']) {
        const response = await fetch(`${proxied}${path}`, { headers: remote, redirect: 'manual' });
        expect([401, 403, 404, 308], path).toContain(response.status);
        const text = await response.text();
        expect(text, path).not.toMatch(/ripple_http_requests_total|"workers"/);
      }
      const denied = await fetch(`${proxied}/v1/status`, { headers: remote });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Basic /);
      const bearer = await fetch(`${proxied}/metrics`, { headers: { ...remote, Authorization: `Bearer ${TOKEN}` } });
      expect(bearer.status).toBe(200);
      expect(await bearer.text()).toContain('ripple_http_requests_total');
      const basic = await fetch(`${proxied}/v1/status`, { headers: { ...remote, Authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` } });
      expect(basic.status).toBe(200);
      expect(await fetch(`${proxied}/status`, { headers: { ...remote, Authorization: `Bearer ${TOKEN}` } }).then((r) => r.status)).toBe(200);
      expect(await fetch(`${proxied}/metrics`, { headers: { ...remote, Authorization: 'Bearer wrong-token-wrong-token' } }).then((r) => r.status)).toBe(401);
    });

    it('without OPERATOR_TOKEN they are open on loopback only', async () => {
      expect((await fetch(`${base}/v1/status`)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      // This server trusts no proxy: a forwarded address cannot make a remote client look local, nor a local one remote.
      expect((await fetch(`${base}/v1/status`, { headers: remote })).status).toBe(200);
      expect((await fetch(`${proxied}/v1/status`, { headers: remote })).status).toBe(401);
    });

    it('anonymous /healthz says only up or down and what is down', async () => {
      const anonymous = await fetch(`${proxied}/healthz`, { headers: remote });
      const body = (await anonymous.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(anonymous.status === 200 ? ['status'] : ['detail', 'down', 'status', 'title', 'type']);
      const operator = (await (await fetch(`${proxied}/healthz`)).json()) as Record<string, unknown>;
      expect(operator).toHaveProperty('postgres');
      expect(operator).toHaveProperty('writes');
    });
  });

  describe('7. every HTML response carries the CSP', () => {
    it('prefetches included, and pages whose names start like a route', async () => {
      await createProfile(pool, 'streamer');
      const requests: Array<[string, Record<string, string>]> = [
        ['/alice', { 'Next-Router-Prefetch': '1', RSC: '1' }],
        ['/alice', { Purpose: 'prefetch' }],
        ['/alice', { 'Sec-Purpose': 'prefetch' }],
        ['/streamer', {}],
        ['/', { 'Next-Router-Prefetch': '1', RSC: '1' }],
      ];
      for (const [path, headers] of requests) {
        const response = await fetch(`${base}${path}`, { headers });
        expect(response.status, path).toBe(200);
        expect(response.headers.get('content-security-policy'), `${path} ${JSON.stringify(headers)}`).toMatch(/script-src 'self' 'nonce-/);
        await response.arrayBuffer();
      }
    });
  });
});
