import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_WORKER } from '@/lib/live/pipeline';
import { openStream } from '../support/http';
import { spawnWorker, waitFor } from '../support/processes';
import { startPrivateSystem, type PrivateSystem } from '../support/private-system';
import { shown } from '../support/stream-client';

/** The profile as the server-rendered page embeds it (React's flight data escapes the quotes). */
async function renderedLikes(url: string, username: string): Promise<number | null> {
  const html = await (await fetch(`${url}/${username}`)).text();
  const match = html.match(new RegExp(`\\\\?"username\\\\?":\\\\?"${username}\\\\?"[^}]*?\\\\?"likes\\\\?":(\\d+)`));
  return match ? Number(match[1]) : null;
}

// With no worker, nothing copies changes into the cache: the cache cannot be
// trusted, so reads go to Postgres, and open streams say live updates are
// paused (within about 20 s: the announcement TTL is 15 s), and say so again
// when a worker is back, with no reload.
describe('no worker running', () => {
  let system: PrivateSystem;

  beforeAll(async () => {
    system = await startPrivateSystem();
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('SIGKILL the worker, open a stream, press +: reads answer Postgres, the stream says paused, and resumes when a worker is back', async () => {
    const stream = openStream(`${system.url}/stream?u=alice`);
    try {
      await waitFor(() => shown(stream.events).pipeline.at(-1)?.live === true, 'the stream to say changes flow', 5_000);
      await system.workers[0].kill();
      const killedAt = Date.now();

      const clicked = await system.post('alice', { likes: 1 });
      expect(clicked.status).toBe(200);

      const paused = await waitFor(() => shown(stream.events).pipeline.at(-1)?.live === false && shown(stream.events).pipeline.at(-1), 'the stream to say live updates are paused', 25_000);
      const after = Date.now() - killedAt;
      console.log(`[no-worker] the stream said paused ${after} ms after SIGKILL`);
      expect(after).toBeLessThanOrEqual(21_000);
      expect(paused).toEqual({ live: false, reason: NO_WORKER });

      // Reads no longer trust the cache nobody keeps: the API and the page show the click.
      expect((await system.get('/v1/profile/alice')).body).toEqual(clicked.body);
      expect(await renderedLikes(system.url, 'alice')).toBe(clicked.body.likes);

      const second = await system.post('alice', { likes: 1 });
      await system.startWorker();
      const resumedAt = Date.now();
      await waitFor(() => shown(stream.events).pipeline.at(-1)?.live === true, 'the stream to say changes flow again', 5_000);
      await waitFor(() => JSON.stringify(shown(stream.events).profiles.get('alice')) === JSON.stringify(second.body), 'the missed change on the same stream', 5_000);
      console.log(`[no-worker] resumed ${Date.now() - resumedAt} ms after the worker was back`);
      expect(stream.ended()).toBe(false);
      expect(stream.events.filter((e) => e.event === 'epoch')).toHaveLength(1);
    } finally {
      await stream.close();
    }
  });

  it('a worker that cannot follow the epoch (a database without migration 0005) is not counted as listening, and says what to do', async () => {
    for (const worker of system.workers) await worker.stop();
    system.workers.length = 0;
    await system.pool.query('ALTER FUNCTION cache_epoch() RENAME TO cache_epoch_hidden');
    const worker = spawnWorker(system.env);
    try {
      await waitFor(() => /no cache_epoch\(\).*npm run db:setup/.test(worker.output()), 'the worker to say what is missing', 10_000);
      const health = await waitFor(async () => {
        const answer = await system.get('/healthz');
        return answer.body?.worker?.workers?.length === 1 && answer;
      }, 'the worker to announce itself');
      expect(health.status).toBe(503);
      expect(health.body.down).toContain('worker');
      expect(health.body.worker.workers).toEqual([expect.objectContaining({ listening: false, lastError: expect.stringMatching(/cache_epoch/) })]);

      await system.pool.query('ALTER FUNCTION cache_epoch_hidden() RENAME TO cache_epoch');
      await waitFor(async () => (await system.get('/healthz')).body?.worker?.ok === true, 'the worker to carry on once migrated', 10_000);
    } finally {
      await system.pool.query('ALTER FUNCTION IF EXISTS cache_epoch_hidden() RENAME TO cache_epoch').catch(() => undefined);
      await worker.stop();
    }
  });
});
