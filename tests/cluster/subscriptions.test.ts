import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createProfile, dbProfile } from '../support/db';
import { CLUSTER_WEB_PORTS } from '../support/env';
import { openStream } from '../support/http';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';
import { clusterEnv, clusterPool, hasMetric, pause, postDeltas, webMetric, webUrls } from './fixture';

// Every pub/sub message the process received, per-profile and firehose channels
// together (issue 14 named it ripple_live_messages_received_total; main kept this name).
const RECEIVED = 'ripple_live_messages_total';
const CHANNELS = 'ripple_live_channels';

// On a cluster every change goes to its profile's own sharded channel, and a web
// process subscribes only to the channels of profiles its open streams watch:
// a process nobody asks about a profile hears nothing of it.
describe('each web process subscribes only to what its streams watch', () => {
  const [web1, web2] = webUrls;
  let pool: pg.Pool;
  const processes: Started[] = [];

  beforeAll(async () => {
    pool = clusterPool();
    processes.push(await startWorker(clusterEnv));
    for (const port of CLUSTER_WEB_PORTS) processes.push(await startWeb({ ...clusterEnv, WEB_CONCURRENCY: '1' }, port));
  });

  afterAll(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await pool?.end();
  });

  it("writes to A reach only the process watching A, and A's channel goes when its last stream does", async () => {
    await createProfile(pool, 'clu_sub_a');
    await createProfile(pool, 'clu_sub_b');
    const streamA = openStream(`${web1}/stream?u=clu_sub_a`);
    const streamB = openStream(`${web2}/stream?u=clu_sub_b`);
    try {
      for (const stream of [streamA, streamB]) {
        // `pipeline` follows the snapshot once the subscription is confirmed.
        await waitFor(() => stream.events.some((e) => e.event === 'pipeline' && JSON.parse(e.data).live === true), 'both streams to say changes flow', 10_000);
      }
      for (const url of webUrls) {
        for (const name of [RECEIVED, CHANNELS]) expect(await hasMetric(url, name), `${url}/metrics exports ${name}`).toBe(true);
      }
      const withA = await webMetric(web1, CHANNELS);
      expect(withA).toBeGreaterThanOrEqual(1);
      const received1 = await webMetric(web1, RECEIVED);
      const received2 = await webMetric(web2, RECEIVED);

      // Written through both web servers: who takes the write does not matter, who watches does.
      for (let i = 0; i < 20; i += 1) expect((await postDeltas(webUrls[i % 2], 'clu_sub_a', { likes: 1 })).status).toBe(200);
      const final = await dbProfile(pool, 'clu_sub_a');
      expect(final.likes).toBe(20);
      await waitFor(() => streamA.profiles().at(-1)?.version === final.version, "A's last change on its stream", 5_000);

      expect((await webMetric(web1, RECEIVED)) - received1).toBeGreaterThanOrEqual(20);
      expect((await webMetric(web2, RECEIVED)) - received2).toBe(0);
      expect(streamB.profiles().filter((p) => p.username !== 'clu_sub_b')).toEqual([]);

      await streamA.close();
      await waitFor(async () => (await webMetric(web1, CHANNELS)) === withA - 1, "web 1 to unsubscribe from A's channel", 10_000);
      // Unsubscribed in Redis too, not only in the gauge: a further write to A reaches neither process.
      const quiet1 = await webMetric(web1, RECEIVED);
      expect((await postDeltas(web1, 'clu_sub_a', { likes: 1 })).status).toBe(200);
      await pause(500);
      expect((await webMetric(web1, RECEIVED)) - quiet1).toBe(0);
      expect((await webMetric(web2, RECEIVED)) - received2).toBe(0);
    } finally {
      await Promise.all([streamA.close(), streamB.close()]);
    }
  });
});
