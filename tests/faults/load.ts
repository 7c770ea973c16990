import { setTimeout as sleep } from 'node:timers/promises';
import { readSse } from '../support/sse';

type Seen = { username: string; version: number; followers: number; followings: number; likes: number };

const COUNTERS = ['followers', 'followings', 'likes'] as const;

/** Keeps POSTing small random deltas until stopped, rotating to another server when one is down. */
export function startWriter(baseUrls: () => string[], usernames: string[], concurrency = 4) {
  const statuses = new Map<string, number>();
  const count = (key: string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
  const problems: string[] = [];
  let running = true;
  let turn = 0;
  const loop = async () => {
    while (running) {
      const urls = baseUrls();
      const url = urls[turn++ % urls.length];
      const username = usernames[Math.floor(Math.random() * usernames.length)];
      const counter = COUNTERS[Math.floor(Math.random() * COUNTERS.length)];
      const delta = Math.random() < 0.7 ? 1 : -1;
      try {
        const response = await fetch(`${url}/v1/profile/${username}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ [counter]: delta }),
          signal: AbortSignal.timeout(5_000),
        });
        count(String(response.status));
        const type = response.headers.get('content-type') ?? '';
        const body = await response.text();
        if (response.status !== 200 && !type.includes('application/problem+json')) problems.push(`${response.status} ${type} ${body.slice(0, 100)}`);
        // 503: nothing was changed; 504 outcome-unknown: a write in flight when Postgres went away, said as such.
        const truthful = response.status === 503 || (response.status === 504 && body.includes('urn:ripple:problem:outcome-unknown'));
        if (response.status >= 500 && !truthful) problems.push(`${response.status}: ${body.slice(0, 200)}`);
      } catch {
        count('network');
        await sleep(20);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    statuses,
    problems,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * An SSE client that behaves like the page: reconnects (to the next server if
 * one is gone) and records every profile event, per connection, so a test can
 * check that versions only go up and no counter was ever negative.
 */
export function startWatcher(baseUrls: () => string[], usernames: string[]) {
  const connections: Seen[][] = [];
  const cleanEnds: number[] = [];
  const errors: string[] = [];
  const latest = new Map<string, Seen>();
  let running = true;
  let controller = new AbortController();
  let turn = 0;
  const query = usernames.map((u) => `u=${u}`).join('&');

  const run = (async () => {
    while (running) {
      const urls = baseUrls();
      const url = urls[turn++ % urls.length];
      const seen: Seen[] = [];
      controller = new AbortController();
      try {
        const response = await fetch(`${url}/stream?${query}`, { signal: controller.signal });
        if (response.status !== 200 || !response.body) throw new Error(`stream answered ${response.status}`);
        connections.push(seen);
        await readSse(response.body, ({ event, data }) => {
          if (event !== 'profile' || data === null) return;
          const profile = JSON.parse(data) as Seen;
          seen.push(profile);
          const shown = latest.get(profile.username);
          if (!shown || profile.version > shown.version) latest.set(profile.username, profile);
        });
        cleanEnds.push(connections.length);
      } catch (error) {
        if (running) errors.push((error as Error).message);
      }
      if (running) await sleep(100);
    }
  })();

  return {
    connections,
    cleanEnds,
    errors,
    latest,
    /** Versions per profile rose strictly within each connection, never fell across them, and no counter was negative. */
    violations(): string[] {
      const found: string[] = [];
      const highest = new Map<string, number>();
      connections.forEach((seen, index) => {
        const inConnection = new Map<string, number>();
        for (const p of seen) {
          if (p.followers < 0 || p.followings < 0 || p.likes < 0) found.push(`negative counter on ${p.username} v${p.version}`);
          const before = inConnection.get(p.username) ?? 0;
          if (p.version <= before) found.push(`connection ${index}: ${p.username} went from v${before} to v${p.version}`);
          inConnection.set(p.username, p.version);
          if (p.version < (highest.get(p.username) ?? 0)) found.push(`${p.username} fell back to v${p.version} after v${highest.get(p.username)}`);
          highest.set(p.username, Math.max(p.version, highest.get(p.username) ?? 0));
        }
      });
      return found;
    },
    async stop() {
      running = false;
      controller.abort();
      await run;
    },
  };
}
