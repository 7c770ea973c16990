import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { allDbProfiles, createProfile, testPool, testRedis } from '../support/db';
import { waitFor } from '../support/processes';
import { TEST_REDIS_PREFIX, TEST_WEB_PORT, TEST_WEB_URL } from '../support/env';
import { sample, scrape } from '../support/prometheus';

type BadRequest = { name: string; method: 'GET' | 'POST' | 'HEAD'; path: string; body?: BodyInit; headers?: Record<string, string>; expect: number };


const JSON_TYPE = { 'Content-Type': 'application/json' };
const valid = '{"likes": 1, "followers": -2, "followings": 3}';

function postBody(name: string, body: BodyInit, status: number, headers: Record<string, string> = JSON_TYPE): BadRequest {
  return { name, method: 'POST', path: '/v1/profile/alice', body, headers, expect: status };
}

/** A generator of requests that break the contract, each with the status the contract names. */
function badRequests(): BadRequest[] {
  const requests: BadRequest[] = [];
  // Every truncation of a valid body is malformed JSON.
  for (const whole of [valid, '{"followers":-1000,"followings":1000,"likes":0}']) {
    for (let cut = 1; cut < whole.length; cut += 1) requests.push(postBody(`truncated at ${cut}`, whole.slice(0, cut), 400));
  }
  for (const text of ['{likes: 1}', "{'likes': 1}", '{"likes": NaN}', '{"likes": Infinity}', '{"likes": -Infinity}', '{"likes": 01}', '{"likes": 1,}', '{"likes": +1}', '{"likes": 0x10}', '\u0000', 'undefined', '{"likes": 1}}', '{"likes": "1}', ' '.repeat(100)]) {
    requests.push(postBody(`malformed ${JSON.stringify(text).slice(0, 30)}`, text, 400));
  }
  const unprocessable: unknown[] = [
    [], [{ likes: 1 }], null, 1, -1, 'likes', true, false, {},
    { likes: null }, { likes: '1' }, { likes: 'NaN' }, { likes: 'Infinity' }, { likes: 1.5 }, { likes: -0.001 }, { likes: true },
    { likes: [1] }, { likes: { value: 1 } }, { likes: 1001 }, { likes: -1001 }, { followers: 2 ** 31 }, { followings: 2 ** 53 + 1 },
    { likes: -(2 ** 63) }, { likes: 1e308 }, { retweets: 1 }, { likes: 1, retweets: 1 }, { Likes: 1 }, { LIKES: 1 }, { __proto__: { likes: 1 } },
    { constructor: 1 }, { likes: 1, version: 99 }, { username: 'bob', likes: 1 }, { '': 1 },
  ];
  for (const counter of ['followers', 'followings', 'likes']) {
    for (const value of [null, '1', '', 1.5, 0.1, true, [], {}, 1001, -1001, 1e21, 'NaN', '-1', '1e3']) unprocessable.push({ [counter]: value });
  }
  for (const body of unprocessable) requests.push(postBody(`unprocessable ${JSON.stringify(body)}`, JSON.stringify(body), 422));
  for (const text of ['{"likes": 1e400}', '{"likes": 99999999999999999999999999}', '{"likes": -9223372036854775809}', '{"likes": 1, "likes": 1}', '{"likes": 1, "followers": 1, "likes": -1}', '{"\\u006cikes": 1, "likes": 2}']) {
    requests.push(postBody(`unprocessable ${text}`, text, 422));
  }
  // Zero deltas would raise the version and wake every stream for nothing; JSON reads -0 and 1e-400 as zero too.
  for (const text of ['{"likes": 0}', '{"likes": -0}', '{"likes": 1e-400}', '{"likes": -1e-400}', '{"likes": 0.0}', '{"likes": -0e5}', '{"likes": 0E+2}', '{"followers": 0}', '{"followings": 0}', '{"likes": 1, "followers": 0}', '{"followers": 0, "followings": 0, "likes": 0}']) {
    requests.push(postBody(`zero delta ${text}`, text, 422));
  }
  // JSON is read only as UTF-8: any other declared charset is refused, not guessed at.
  for (const charset of ['utf-16', 'UTF-16', 'utf-16le', 'utf-16be', 'utf-32', 'iso-8859-1', 'latin1', 'windows-1252', 'shift_jis', 'utf-7', 'binary', '"utf-16"', '']) {
    requests.push(postBody(`charset=${charset}`, valid, 415, { 'Content-Type': `application/json; charset=${charset}` }));
  }
  const utf16 = new Uint8Array(Buffer.from(`\ufeff${valid}`, 'utf16le'));
  requests.push(postBody('a UTF-16 body declared as such', utf16, 415, { 'Content-Type': 'application/json; charset=utf-16' }));
  requests.push(postBody('a UTF-16 body declared as JSON', utf16, 400));
  const notUtf8 = new Uint8Array([...Buffer.from('{"likes": 1, "x'), 0xc3, 0x28, ...Buffer.from('": 1}')]);
  requests.push(postBody('bytes that are not UTF-8', notUtf8, 400));
  // Idempotency-Key: 1 to 100 of [A-Za-z0-9_.:-], one header.
  for (const key of ['', 'a b', 'k'.repeat(101), '"quoted"', 'clé', 'a,b', 'a;b', 'k/1', 'k=1', '{}', '*']) {
    requests.push(postBody(`Idempotency-Key ${JSON.stringify(key).slice(0, 30)}`, '{"likes": 1}', 422, { ...JSON_TYPE, 'Idempotency-Key': key }));
  }
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'application/json-patch+json', 'text/json', 'application/xml', 'application/ld+json', 'text/html', 'application/octet-stream', '*/*', 'json', '']) {
    requests.push(postBody(`content type "${type}"`, valid, 415, type ? { 'Content-Type': type } : {}));
  }
  requests.push({ name: 'no content type', method: 'POST', path: '/v1/profile/alice', body: new Blob([valid]), expect: 415 });
  for (const size of [1025, 2048, 10_000, 100_000]) {
    requests.push(postBody(`${size}-byte body`, JSON.stringify({ likes: 1, pad: 'x'.repeat(size) }), 413));
  }
  requests.push(postBody('empty body', '', 400));
  requests.push({ ...postBody('a counter below zero', '{"likes": -1}', 409), path: '/v1/profile/zero_counts' });

  const badNames = [
    'Alice', 'ALICE', 'alice%20', '%20alice', 'al%20ice', 'ålice', 'alicé', '😀', 'alice%00', '%00', 'ali%00ce', '..%2F..%2Fetc%2Fpasswd', '...',
    "alice'--", 'alice%27%20OR%201%3D1--', 'a%3BDROP%20TABLE%20profiles', '%2A', 'alice*', 'a'.repeat(16), 'a'.repeat(10_000), 'alice%0d%0aX: y',
    'alice.json', 'alice-bob', '%E2%80%AE', 'null', 'undefined_user_x', 'alice!', '@alice', 'al%2Fice', 'x'.repeat(100), 'nobody_here',
  ];
  for (const name of badNames) {
    // Invalid and unknown usernames alike: no such profile can exist.
    const status = 404;
    requests.push({ name: `GET username ${name.slice(0, 30)}`, method: 'GET', path: `/v1/profile/${name}`, expect: status });
    requests.push({ name: `POST username ${name.slice(0, 30)}`, method: 'POST', path: `/v1/profile/${name}`, body: '{"likes": 1}', headers: JSON_TYPE, expect: status });
  }
  // Malformed percent-escapes (issue 10): a 4xx problem+json, never Next's 500 text/plain.
  for (const path of ['/v1/profile/%ff', '/v1/profile/%', '/v1/profile/%e2%82', '/v1/profile/al%zzice', '/%ff', '/%', '/stream%ff', '/%c0%af']) {
    requests.push({ name: `GET ${path}`, method: 'GET', path, expect: 400 });
  }
  for (const path of ['/v1/profile/%ff', '/v1/profile/%']) {
    requests.push({ name: `POST ${path}`, method: 'POST', path, body: '{"likes": 1}', headers: JSON_TYPE, expect: 400 });
  }
  const streamQueries = [
    'u=Alice', 'u=', 'u=%00', 'u=..%2F', 'u=' + 'a'.repeat(10_000), "u=alice'--", 'u=alice&u=BOB', 'u=%F0%9F%98%80', 'u=al%20ice',
    Array.from({ length: 51 }, (_, i) => `u=user${i}`).join('&'), Array.from({ length: 500 }, () => 'u=alice').join('&'),
  ];
  const malformed = badNames.filter((name) => !/^[a-z0-9_]{1,15}$/.test(decodeURIComponent(name)));
  for (const name of malformed) streamQueries.push(`u=alice&u=${name}`);
  for (const query of streamQueries) {
    requests.push({ name: `GET /stream?${query.slice(0, 30)}`, method: 'GET', path: `/stream?${query}`, expect: 422 });
  }
  // Last: undici's fetch can keep a connection busy after the server refused a streamed body early.
  for (const size of [2_000, 50_000]) {
    const chunk = new TextEncoder().encode('x'.repeat(500));
    let sent = 0;
    const growing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    requests.push({ name: `chunked body growing to ${size}`, method: 'POST', path: '/v1/profile/alice', body: growing, headers: JSON_TYPE, expect: 413 });
  }
  return requests;
}

type RawEnding = 'stay' | 'half-close' | 'hang-up';

/**
 * A POST over a raw socket whose body breaks off after `sent`: the client then
 * stays connected, half-closes (FIN, still reading), or hangs up. Resolves
 * with whatever came back (nothing, for a hang-up).
 */
function rawPost(headers: string, sent: string, ending: RawEnding): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = net.connect(TEST_WEB_PORT, '127.0.0.1', () => {
      socket.write(`POST /v1/profile/alice HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n${sent}`);
      if (ending === 'half-close') setTimeout(() => socket.end(), 100);
      if (ending === 'hang-up') setTimeout(() => socket.destroy(), 100);
    });
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      // One answer is all we wait for: its headers, then a body of Content-Length bytes or a last chunk.
      const [head, ...rest] = answer.split('\r\n\r\n');
      const body = rest.join('\r\n\r\n');
      const chunkedAnswer = /transfer-encoding: chunked/i.test(head);
      const length = Number(head.match(/content-length: (\d+)/i)?.[1] ?? 0);
      if (rest.length > 0 && (chunkedAnswer ? answer.endsWith('\r\n0\r\n\r\n') : Buffer.byteLength(body) >= length)) socket.destroy();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const statusOf = (answer: string) => Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);

async function snapshot(pool: pg.Pool, redis: Redis): Promise<string> {
  const profiles = await allDbProfiles(pool);
  const keys = (await redis.keys(`${TEST_REDIS_PREFIX}profile:*`)).sort();
  const entries = await Promise.all(keys.map(async (key) => [key, await redis.hgetall(key)] as const));
  // Cached profiles only: a GET of an unknown name leaves a "missing" marker
  // (the negative cache, which expires), and that changes no data.
  const cached = entries.filter(([, entry]) => 'data' in entry);
  return JSON.stringify({ profiles, cached });
}

describe('bad input gets a clear answer and changes nothing', () => {
  let pool: pg.Pool;
  let redis: Redis;

  beforeAll(async () => {
    pool = testPool();
    redis = testRedis();
    await createProfile(pool, 'zero_counts');
    // Warm the cache so read-through fills cannot be mistaken for a change.
    for (const profile of await allDbProfiles(pool)) await fetch(`${TEST_WEB_URL}/v1/profile/${profile.username}`);
    await fetch(`${TEST_WEB_URL}/v1/profile/alice`, { method: 'POST', headers: JSON_TYPE, body: '{"likes": 1}' });
  });

  afterAll(async () => {
    redis.disconnect();
    await pool.end();
  });

  it('answers at least 300 generated bad requests with the contract status and problem+json, no 5xx', async () => {
    const requests = badRequests();
    expect(requests.length).toBeGreaterThanOrEqual(300);
    const before = await snapshot(pool, redis);
    const wrong: string[] = [];
    for (const request of requests) {
      let response: Response;
      try {
        response = await fetch(`${TEST_WEB_URL}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(5_000),
          ...(request.body instanceof ReadableStream ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (error) {
        wrong.push(`${request.name}: no answer (${(error as Error).message})`);
        continue;
      }
      const type = response.headers.get('content-type') ?? '';
      const body = await response.text().catch((error: Error) => `(body unreadable: ${error.message})`);
      let problem: Record<string, unknown> | null = null;
      try {
        problem = JSON.parse(body);
      } catch {
        // Reported below.
      }
      const wellFormed = type.includes('application/problem+json') && problem?.status === response.status && typeof problem?.title === 'string' && typeof problem?.detail === 'string';
      if (response.status !== request.expect || !wellFormed) {
        wrong.push(`${request.name}: ${response.status} ${type} ${body.slice(0, 120)} (expected ${request.expect} problem+json)`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await snapshot(pool, redis)).toBe(before);
  });

  it('a body cut short is answered 408 if the client waits, 400 if it half-closes, and a hang-up is never blamed on Postgres; nothing changes', async () => {
    const before = await snapshot(pool, redis);
    // Retried: the test before leaves undici a keep-alive connection that the server already reset.
    const count = async (status: string) => {
      const { text } = await scrape(`${TEST_WEB_URL}/metrics`).catch(() => scrape(`${TEST_WEB_URL}/metrics`));
      return sample(text, 'ripple_http_requests_total', { route: '/v1/profile/[username]', method: 'POST', status }) ?? 0;
    };
    const [unavailable, hungUp] = [await count('503'), await count('499')];
    const declared = 'Content-Type: application/json\r\nContent-Length: 40\r\n';
    const chunked = 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n';
    const [stays, halfCloses, hangsUp, chunkedHangsUp, chunkedStays] = await Promise.all([
      rawPost(declared, '{"likes":', 'stay'),
      rawPost(declared, '{"likes":', 'half-close'),
      rawPost(declared, '{"likes":', 'hang-up'),
      rawPost(chunked, '9\r\n{"likes":\r\n', 'hang-up'),
      rawPost(chunked, '9\r\n{"likes":\r\n', 'stay'),
    ]);
    // Waiting past REQUEST_BODY_TIMEOUT_MS: a problem+json 408 that says nothing was changed.
    for (const answer of [stays, chunkedStays]) {
      expect(statusOf(answer), answer).toBe(408);
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(answer).toContain('nothing was changed');
    }
    // Node's HTTP parser answers a half-closed, incomplete request itself, before any route runs.
    expect(statusOf(halfCloses)).toBe(400);
    expect(hangsUp).toBe('');
    expect(chunkedHangsUp).toBe('');
    await waitFor(async () => (await count('499')) >= hungUp + 2, 'the hung-up requests to be counted as the client\'s doing');
    expect(await count('503')).toBe(unavailable);
    expect(await snapshot(pool, redis)).toBe(before);
  });
});
