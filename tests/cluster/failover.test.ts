import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { Profile } from '../../lib/profile';
import { startWatcher, startWriter } from '../faults/load';
import { createProfile } from '../support/db';
import { CLUSTER_WEB_PORTS } from '../support/env';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';
import { cluster, clusterCache, clusterEnv, clusterPool, namesAcrossPrimaries, pause, webUrls } from './fixture';

type Seen = { username: string; version: number };
type Watcher = ReturnType<typeof startWatcher>;

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
// Anti-entropy is slowed to a minute, so only the failover handling itself
// (the worker's resync when the primaries change, the web's re-routing) can
// bring the cache and the streams back within the 5 s budget. The writers stop
// once the replica is promoted: what they wrote last, during the outage, must arrive.
describe('a Redis Cluster primary killed mid-write', () => {
  let pool: pg.Pool;
  let cache: ReturnType<typeof clusterCache>;
  const processes: Started[] = [];
  const stops: Array<() => Promise<void>> = [];
  let watched: string[] = [];
  let shardOf = new Map<string, number>();
  let streams: Array<{ name: string; watches: string[]; watcher: Watcher }> = [];
  let writer: ReturnType<typeof startWriter>;
  let killed: number | undefined;
  let promotedAt = 0;

  /** Postgres' rows of the watched profiles, as JSON. */
  const final = async () => {
    const { rows } = await pool.query<{ profile: Profile }>('SELECT profile_json(p) AS profile FROM profiles p WHERE username = ANY($1)', [watched]);
    return new Map(rows.map((row) => [row.profile.username, JSON.stringify(row.profile)]));
  };
  /** Until the stream shows Postgres' values of every profile it watches, within 5 s of the promotion (at least 1 s from now). */
  const streamEndsOnPostgres = async ({ name, watches, watcher }: (typeof streams)[number]) => {
    await waitFor(
      async () => {
        const expected = await final();
        const behind = watches.filter((u) => JSON.stringify(watcher.latest.get(u)) !== expected.get(u));
        if (behind.length === 0) return true;
        throw new Error(behind.map((u) => `${u} (key on ${shardOf.get(u)}) at v${watcher.latest.get(u)?.version}, Postgres v${JSON.parse(expected.get(u)!).version}`).join('; '));
      },
      `"${name}" to end on Postgres' values`,
      Math.max(1_000, promotedAt + 5_000 - Date.now()),
    );
  };

  beforeAll(async () => {
    pool = clusterPool();
    cache = clusterCache();
    await cluster.waitHealthy();
    watched = await namesAcrossPrimaries('clu_fail_', 6, cache.key);
    shardOf = new Map(await Promise.all(watched.map(async (u) => [u, await cluster.primaryFor(cache.key(u))] as const)));
    for (const name of watched) await createProfile(pool, name, { followers: 2, followings: 2, likes: 2 });
    const env = { ...clusterEnv, RESYNC_INTERVAL_MS: '60000', LISTEN_HEARTBEAT_MS: '1000' };
    processes.push(await startWorker(env));
    for (const port of CLUSTER_WEB_PORTS) processes.push(await startWeb(env, port));
    const [web1, web2] = webUrls;

    streams = [
      { name: 'web 1, all six', watches: watched, watcher: startWatcher(() => [web1], watched) },
      { name: 'web 1, the first three', watches: watched.slice(0, 3), watcher: startWatcher(() => [web1], watched.slice(0, 3)) },
      { name: 'web 2, all six', watches: watched, watcher: startWatcher(() => [web2], watched) },
      { name: 'web 2, every profile (no u)', watches: watched, watcher: startWatcher(() => [web2], []) },
    ];
    for (const { watcher } of streams) stops.push(() => watcher.stop());
    for (const { name, watches, watcher } of streams.slice(0, 3)) await waitFor(() => watches.every((u) => watcher.latest.has(u)), `the snapshot on "${name}"`);
    writer = startWriter(() => webUrls, watched);
    stops.push(() => writer.stop());
    // A stream of every profile has no snapshot: it is working once it has heard of each.
    await waitFor(() => watched.every((u) => streams[3].watcher.latest.has(u)), 'the stream of every profile to hear a change of each', 10_000);
    await pause(500);

    killed = shardOf.get(watched[0])!;
    const killedAt = Date.now();
    await cluster.kill(killed);
    await cluster.waitHealthy(20_000);
    promotedAt = Date.now();
    await writer.stop();
    console.log(`[cluster] primary ${killed} SIGKILLed; a replica served its slots ${promotedAt - killedAt} ms later; writes answered: ${JSON.stringify(Object.fromEntries(writer.statuses))}`);
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await Promise.all(processes.map((process) => process.stop()));
    // The next file gets a whole cluster even if a test here failed half-way.
    if (killed !== undefined && !cluster.alive().includes(killed)) await cluster.restart(killed);
    await cluster.waitHealthy();
    cache?.close();
    await pool?.end();
  });

  it("a replica serves the dead primary's slots, and the cache equals Postgres within 5 s of its promotion", async () => {
    expect(await cluster.primaryFor(cache.key(watched[0]))).not.toBe(killed);
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
  });

  it('every stream of named profiles ends on Postgres, within 5 s of the promotion', async () => {
    for (const stream of streams.slice(0, 3)) await streamEndsOnPostgres(stream);
    console.log(`[cluster] the streams of named profiles equal Postgres ${Date.now() - promotedAt} ms after the promotion`);
  });

  it('a stream of every profile ends on Postgres too, within 5 s of the promotion', async () => {
    await streamEndsOnPostgres(streams[3]);
  });

  it('no stream ever received a lower version of a profile after a higher one, and every write was answered truthfully', () => {
    for (const { name, watcher } of streams) {
      const { fell, repeats } = backwards(watcher.connections);
      expect(fell, `versions that fell on "${name}"`).toEqual([]);
      if (repeats > 0) console.log(`[cluster] "${name}" received ${repeats} version(s) twice`);
    }
    expect(writer.problems).toEqual([]);
  });

  it('the killed node, started again, rejoins as a replica', async () => {
    await cluster.restart(killed!);
    await cluster.waitHealthy(30_000);
    expect((await cluster.nodes()).find((node) => node.port === killed)).toMatchObject({ alive: true, role: 'slave' });
  });
});
