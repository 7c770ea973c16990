import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createProfile, dbProfile } from '../support/db';
import { CLUSTER_WEB_PORTS } from '../support/env';
import { openStream } from '../support/http';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';
import { cluster, clusterCache, clusterEnv, clusterPool, getProfile, namesAcrossPrimaries, postDeltas, webUrls } from './fixture';

// A subset of tests/integration/pipeline.test.ts, with web and worker on a
// Redis Cluster: writes reach the cache and every kind of stream, whichever
// primary holds the profile's key.
describe('the pipeline on a Redis Cluster', () => {
  const web = webUrls[0];
  let pool: pg.Pool;
  let cache: ReturnType<typeof clusterCache>;
  let worker: Started | undefined;
  let webServer: Started | undefined;

  beforeAll(async () => {
    pool = clusterPool();
    cache = clusterCache();
    worker = await startWorker(clusterEnv);
    webServer = await startWeb(clusterEnv, CLUSTER_WEB_PORTS[0]);
  });

  afterAll(async () => {
    await Promise.all([webServer?.stop(), worker?.stop()]);
    cache?.close();
    await pool?.end();
  });

  it('/healthz and the status page say the cache is a cluster, and how many primaries serve it', async () => {
    const health = (await (await fetch(`${web}/healthz`)).json()) as { redis: { ok: boolean; primaries?: number } };
    expect(health.redis).toMatchObject({ ok: true, primaries: 3 });
    const status = (await (await fetch(`${web}/v1/status`)).json()) as { redis: { ok: boolean; primaries?: number } };
    expect(status.redis).toMatchObject({ ok: true, primaries: 3 });
  });

  it('a POST is answered, read back with GET, and reaches a stream watching that profile', async () => {
    await createProfile(pool, 'clu_post', { likes: 1 });
    const stream = openStream(`${web}/stream?u=clu_post`);
    try {
      await waitFor(() => stream.profiles().some((p) => p.username === 'clu_post'), 'the snapshot');
      const answer = await postDeltas(web, 'clu_post', { likes: 2, followers: 1 });
      expect(answer.status).toBe(200);
      const committed = await dbProfile(pool, 'clu_post');
      expect(committed).toMatchObject({ likes: 3, followers: 1 });
      expect(await getProfile(web, 'clu_post')).toEqual({ status: 200, body: committed });
      await waitFor(() => JSON.stringify(stream.profiles().at(-1)) === JSON.stringify(committed), 'the stream to show the committed row', 5_000);
      await waitFor(async () => JSON.stringify(await cache.get('clu_post')) === JSON.stringify(committed), 'the cache to hold it', 5_000);
    } finally {
      await stream.close();
    }
  });

  it('a stream of every profile (no u) hears changes to profiles on every primary', async () => {
    const names = await namesAcrossPrimaries('clu_all_', 3, cache.key);
    const primaries = new Set(await Promise.all(names.map((name) => cluster.primaryFor(cache.key(name)))));
    expect(primaries.size, `the keys of ${names.join(', ')} should live on three primaries`).toBe(3);
    for (const name of names) await createProfile(pool, name);
    const stream = openStream(`${web}/stream`);
    try {
      // Sent once the subscription is confirmed: from then on nothing is missed.
      await waitFor(() => stream.events.some((e) => e.event === 'pipeline' && JSON.parse(e.data).live === true), 'the stream to say changes flow', 10_000);
      for (const name of names) expect((await postDeltas(web, name, { followings: 1 })).status).toBe(200);
      for (const name of names) {
        const committed = await dbProfile(pool, name);
        await waitFor(() => stream.profiles().some((p) => p.username === name && p.version === committed.version), `${name}'s change on the stream`, 5_000);
      }
    } finally {
      await stream.close();
    }
  });

  it('a watched profile deleted in Postgres reaches the stream as `unknown`', async () => {
    await createProfile(pool, 'clu_gone');
    const stream = openStream(`${web}/stream?u=clu_gone&u=alice`);
    try {
      await waitFor(() => stream.profiles().some((p) => p.username === 'clu_gone'), 'the snapshot');
      await pool.query("DELETE FROM profiles WHERE username = 'clu_gone'");
      const unknown = await waitFor(() => stream.events.find((e) => e.event === 'unknown'), 'the unknown event', 5_000);
      expect(JSON.parse(unknown.data)).toEqual({ usernames: ['clu_gone'] });
      expect((await getProfile(web, 'clu_gone')).status).toBe(404);
    } finally {
      await stream.close();
    }
  });

  it('after a burst of writes to profiles on every primary, each cache entry equals Postgres', async () => {
    const names = await namesAcrossPrimaries('clu_burst_', 12, cache.key);
    for (const name of names) await createProfile(pool, name, { likes: 5 });
    const deltas: Array<Record<string, number>> = [{ likes: 1 }, { followers: 2 }, { likes: -1 }, { followings: 3 }, { likes: 4 }];
    const writes = names.flatMap((name) => deltas.map((delta) => ({ name, deltas: delta })));
    const answers = await Promise.all(writes.map(({ name, deltas }) => postDeltas(web, name, deltas)));
    expect(answers.map((a) => a.status)).toEqual(writes.map(() => 200));
    await waitFor(
      async () => {
        const cached = await cache.getMany(names);
        for (const name of names) {
          if (JSON.stringify(cached.get(name)) !== JSON.stringify(await dbProfile(pool, name))) return false;
        }
        return true;
      },
      'every cache entry to equal Postgres',
      5_000,
    );
    for (const name of names) expect(await dbProfile(pool, name)).toMatchObject({ likes: 9, followers: 2, followings: 3 });
  });
});
