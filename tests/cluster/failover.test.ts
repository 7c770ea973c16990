import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Profile } from '../../lib/profile';
import { startWatcher, startWriter } from '../faults/load';
import { createProfile } from '../support/db';
import { CLUSTER_WEB_PORTS } from '../support/env';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';
import { cluster, clusterCache, clusterEnv, clusterPool, namesAcrossPrimaries, pause, webUrls } from './fixture';

type Seen = { username: string; version: number };

/** Any profile whose version fell on a stream, within a connection or across its reconnections; repeats are counted apart. */
function backwards(connections: Seen[][]): { fell: string[]; repeats: number } {
  const fell: string[] = [];
  let repeats = 0;
  const highest = new Map<string, number>();
  for (const seen of connections) {
    for (const { username, version } of seen) {
      const before = highest.get(username) ?? 0;
      if (version < before) fell.push(`${username} v${version} after v${before}`);
      if (version === before) repeats += 1;
      highest.set(username, Math.max(before, version));
    }
  }
  return { fell, repeats };
}

// A primary SIGKILLed while writers write and streams watch: its replica is
// promoted, the worker's gate writes and the web processes' subscriptions move
// to it, and everything ends where Postgres is, without a step backwards.
describe('a Redis Cluster primary killed mid-write', () => {
  let pool: pg.Pool;
  let cache: ReturnType<typeof clusterCache>;
  const processes: Started[] = [];
  const stops: Array<() => Promise<void>> = [];
  let killed: number | undefined;

  beforeAll(() => {
    pool = clusterPool();
    cache = clusterCache();
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await Promise.all(processes.map((process) => process.stop()));
    // The next file gets a whole cluster even if this test failed half-way.
    if (killed !== undefined && !cluster.alive().includes(killed)) await cluster.restart(killed);
    await cluster.waitHealthy();
    cache?.close();
    await pool?.end();
  });

  it('its replica takes over; cache and every stream end on Postgres, never going backwards; the old primary rejoins as a replica', async () => {
    await cluster.waitHealthy();
    const watched = await namesAcrossPrimaries('clu_fail_', 6, cache.key);
    for (const name of watched) await createProfile(pool, name, { followers: 2, followings: 2, likes: 2 });
    // Fast anti-entropy and heartbeat, as in the fault suite, so recovery fits the 5 s budget.
    const env = { ...clusterEnv, RESYNC_INTERVAL_MS: '1000', LISTEN_HEARTBEAT_MS: '1000' };
    processes.push(await startWorker(env));
    for (const port of CLUSTER_WEB_PORTS) processes.push(await startWeb(env, port));
    const [web1, web2] = webUrls;

    const streams = [
      { name: 'web 1, all six', watches: watched, watcher: startWatcher(() => [web1], watched) },
      { name: 'web 1, the first three', watches: watched.slice(0, 3), watcher: startWatcher(() => [web1], watched.slice(0, 3)) },
      { name: 'web 2, all six', watches: watched, watcher: startWatcher(() => [web2], watched) },
      { name: 'web 2, every profile (no u)', watches: watched, watcher: startWatcher(() => [web2], []) },
    ];
    for (const { watcher } of streams) stops.push(() => watcher.stop());
    for (const { name, watches, watcher } of streams.slice(0, 3)) await waitFor(() => watches.every((u) => watcher.latest.has(u)), `the snapshot on "${name}"`);
    const writer = startWriter(() => webUrls, watched);
    stops.push(() => writer.stop());
    // A stream of every profile has no snapshot: it is working once it has heard of each.
    await waitFor(() => watched.every((u) => streams[3].watcher.latest.has(u)), 'the stream of every profile to hear a change of each', 10_000);
    await pause(500);

    const target = await cluster.primaryFor(cache.key(watched[0]));
    killed = target;
    const killedAt = Date.now();
    await cluster.kill(target);
    await cluster.waitHealthy(20_000);
    const promotedAt = Date.now();
    const successor = await cluster.primaryFor(cache.key(watched[0]));
    expect(successor).not.toBe(target);
    console.log(`[cluster] primary ${target} SIGKILLed; replica ${successor} serves its slots ${promotedAt - killedAt} ms later`);
    // The load goes on a moment on the new primary, then stops.
    await pause(1_000);
    await writer.stop();

    const final = async () => {
      const { rows } = await pool.query<{ profile: Profile }>('SELECT profile_json(p) AS profile FROM profiles p WHERE username = ANY($1)', [watched]);
      return new Map(rows.map((row) => [row.profile.username, JSON.stringify(row.profile)]));
    };
    await waitFor(
      async () => {
        const expected = await final();
        const cached = await cache.getMany(watched);
        return watched.every((u) => JSON.stringify(cached.get(u)) === expected.get(u));
      },
      'the cache to equal Postgres',
      Math.max(0, promotedAt + 5_000 - Date.now()),
    );
    console.log(`[cluster] cache equals Postgres ${Date.now() - promotedAt} ms after the promotion`);
    for (const { name, watches, watcher } of streams) {
      await waitFor(
        async () => {
          const expected = await final();
          return watches.every((u) => JSON.stringify(watcher.latest.get(u)) === expected.get(u));
        },
        `"${name}" to end on Postgres' values`,
        5_000,
      );
    }
    console.log(`[cluster] every stream equals Postgres ${Date.now() - promotedAt} ms after the promotion; writes answered: ${JSON.stringify(Object.fromEntries(writer.statuses))}`);
    for (const { name, watcher } of streams) {
      const { fell, repeats } = backwards(watcher.connections);
      expect(fell, `versions that fell on "${name}"`).toEqual([]);
      if (repeats > 0) console.log(`[cluster] "${name}" received ${repeats} version(s) twice`);
    }
    expect(writer.problems).toEqual([]);

    await cluster.restart(target);
    await cluster.waitHealthy(30_000);
    const rejoined = (await cluster.nodes()).find((node) => node.port === target);
    expect(rejoined).toMatchObject({ alive: true, role: 'slave' });
    console.log(`[cluster] node ${target} restarted and rejoined as a replica`);
  });
});
