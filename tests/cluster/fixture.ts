import type { Redis } from 'ioredis';
import pg from 'pg';
import { createProfileCache } from '../../lib/cache/profile-cache';
import type { Profile } from '../../lib/profile';
import { clusterClient, localCluster } from '../../scripts/redis-cluster';
import { CLUSTER_BASE_PORT, CLUSTER_DATABASE_URL, CLUSTER_REDIS_PREFIX, CLUSTER_REDIS_URL, CLUSTER_WEB_PORTS } from '../support/env';
import { sample, scrape } from '../support/prometheus';

/** What web and worker get: the suite's cluster, database and key prefix (testEnv would otherwise win). */
export const clusterEnv = {
  DATABASE_URL: CLUSTER_DATABASE_URL,
  REDIS_URL: CLUSTER_REDIS_URL,
  REDIS_PREFIX: CLUSTER_REDIS_PREFIX,
  // Info level: a failing test prints what its processes said.
  LOG_LEVEL: 'info',
};

/** The cluster the global setup started, found by its pid files: a test may kill and restart its nodes. */
export const cluster = localCluster({ basePort: CLUSTER_BASE_PORT });

export const webUrls = CLUSTER_WEB_PORTS.map((port) => `http://127.0.0.1:${port}`);

export function clusterPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: CLUSTER_DATABASE_URL, max: 4 });
  pool.on('error', () => undefined);
  return pool;
}

/**
 * The cache as the cluster holds it, read key by key with an ioredis Cluster
 * client: key names come from lib/cache itself, so they follow its hash tags.
 */
export function clusterCache() {
  const client = clusterClient(cluster);
  const cache = createProfileCache(client as unknown as Redis, CLUSTER_REDIS_PREFIX, { missingTtlMs: 30_000 });
  return {
    client,
    key: cache.key,
    /** The cached profile (whatever its generation), or null. */
    get: (username: string): Promise<Profile | null> => cache.get(username),
    /** One GET per key: a pipeline across slots is refused by a cluster. */
    async getMany(usernames: string[]): Promise<Map<string, Profile | null>> {
      return new Map(await Promise.all(usernames.map(async (username) => [username, await cache.get(username)] as const)));
    },
    close: () => client.disconnect(),
  };
}

/**
 * `count` usernames starting with `stem`, whose cache keys spread over every
 * primary the cluster has (round robin), so a test touches all three shards.
 */
export async function namesAcrossPrimaries(stem: string, count: number, key: (username: string) => string): Promise<string[]> {
  const byPrimary = new Map<number, string[]>();
  const each = Math.ceil(count / 3);
  for (let i = 0; i < count * 50 && [...byPrimary.values()].filter((names) => names.length >= each).length < 3; i += 1) {
    const username = `${stem}${i}`;
    const port = await cluster.primaryFor(key(username));
    byPrimary.set(port, [...(byPrimary.get(port) ?? []), username]);
  }
  const groups = [...byPrimary.values()];
  return Array.from({ length: count }, (_, i) => groups[i % groups.length][Math.floor(i / groups.length)]).filter(Boolean);
}

export async function postDeltas(baseUrl: string, username: string, deltas: Record<string, number>) {
  const response = await fetch(`${baseUrl}/v1/profile/${username}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(deltas) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

export async function getProfile(baseUrl: string, username: string) {
  const response = await fetch(`${baseUrl}/v1/profile/${username}`);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** One series of a web server's /metrics (summed over its labels), 0 when absent. */
export async function webMetric(baseUrl: string, name: string): Promise<number> {
  const { status, text } = await scrape(`${baseUrl}/metrics`);
  if (status !== 200) throw new Error(`${baseUrl}/metrics answered ${status}`);
  return sample(text, name) ?? 0;
}

/** Whether a metric is exported at all: a test of a metric that is missing should say so, not compare zeros. */
export async function hasMetric(baseUrl: string, name: string): Promise<boolean> {
  return sample((await scrape(`${baseUrl}/metrics`)).text, name) !== undefined;
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
