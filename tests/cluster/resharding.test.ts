import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createProfile, dbProfile } from '../support/db';
import { CLUSTER_WEB_PORTS } from '../support/env';
import { openStream } from '../support/http';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';
import { cluster, clusterCache, clusterEnv, clusterPool, postDeltas, webUrls } from './fixture';

/** Moves one slot, with its keys, from one primary to another, as `redis-cli --cluster reshard` does. */
async function moveSlot(slot: number, from: { port: number; id: string }, to: { port: number; id: string }, primaries: number[]): Promise<void> {
  const source = new Redis({ port: from.port, host: '127.0.0.1', lazyConnect: true });
  const target = new Redis({ port: to.port, host: '127.0.0.1', lazyConnect: true });
  try {
    await target.cluster('SETSLOT', slot, 'IMPORTING', from.id);
    await source.cluster('SETSLOT', slot, 'MIGRATING', to.id);
    for (;;) {
      const keys = (await source.cluster('GETKEYSINSLOT', slot, 100)) as string[];
      if (keys.length === 0) break;
      await source.migrate('127.0.0.1', to.port, '', 0, 5_000, 'KEYS', ...keys);
    }
    for (const port of [to.port, from.port, ...primaries.filter((p) => p !== to.port && p !== from.port)]) {
      const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
      await node.cluster('SETSLOT', slot, 'NODE', to.id).finally(() => node.disconnect());
    }
  } finally {
    source.disconnect();
    target.disconnect();
  }
}

// Resharding moves a slot to another primary; Redis drops the sharded
// subscribers of that slot. Web processes must find the new owner, subscribe
// there and catch their streams up on what they missed meanwhile.
describe('a slot that moves to another primary (resharding)', () => {
  const web = webUrls[0];
  let pool: pg.Pool;
  let cache: ReturnType<typeof clusterCache>;
  const processes: Started[] = [];

  beforeAll(async () => {
    pool = clusterPool();
    cache = clusterCache();
    processes.push(await startWorker(clusterEnv));
    processes.push(await startWeb(clusterEnv, CLUSTER_WEB_PORTS[0]));
  });

  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    cache?.close();
    await pool?.end();
  });

  it('a stream of the profile and a stream of every profile both end on Postgres, versions only rising', async () => {
    await cluster.waitHealthy();
    await createProfile(pool, 'clu_move', { likes: 1 });
    const named = openStream(`${web}/stream?u=clu_move`);
    const everything = openStream(`${web}/stream`);
    try {
      for (const stream of [named, everything]) {
        await waitFor(() => stream.events.some((e) => e.event === 'pipeline' && JSON.parse(e.data).live === true), 'the streams to say changes flow', 10_000);
      }
      const key = cache.key('clu_move');
      const slot = calculateSlot(key);
      const nodes = await cluster.nodes();
      const primaries = nodes.filter((node) => node.role === 'master' && node.alive);
      const fromPort = await cluster.primaryFor(key);
      const from = primaries.find((node) => node.port === fromPort)!;
      const to = primaries.find((node) => node.port !== fromPort)!;
      await moveSlot(slot, from, to, primaries.map((node) => node.port));
      expect(await cluster.primaryFor(key)).toBe(to.port);

      // Written right after the move, before anyone could have subscribed on the new owner.
      expect((await postDeltas(web, 'clu_move', { likes: 1 })).status).toBe(200);
      const final = await dbProfile(pool, 'clu_move');
      const last = (stream: typeof named) => stream.profiles().filter((p) => p.username === 'clu_move').at(-1);
      await waitFor(() => last(named)?.version === final.version, 'the stream of the profile to show the write made after the move', 10_000);
      await waitFor(() => last(everything)?.version === final.version, 'the stream of every profile to show it too', 10_000);

      for (const stream of [named, everything]) {
        const versions = stream.profiles().filter((p) => p.username === 'clu_move').map((p) => p.version);
        expect(versions, 'versions on one stream only rise').toEqual([...versions].sort((a, b) => a - b));
      }
      // And changes keep flowing from the new owner.
      expect((await postDeltas(web, 'clu_move', { likes: 1 })).status).toBe(200);
      const next = await dbProfile(pool, 'clu_move');
      await waitFor(() => last(named)?.version === next.version && last(everything)?.version === next.version, 'the next write on both streams', 5_000);
    } finally {
      await Promise.all([named.close(), everything.close()]);
    }
  });
});
