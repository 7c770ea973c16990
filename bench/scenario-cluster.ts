// Scenario 8, issue 14: one Redis against a local Redis Cluster (3 primaries,
// 3 replicas on loopback), in the same run with the same build: propagation
// idle and at a paced load, resync of 100,000 profiles, fan-out to 10,000
// streams, and what a web process hears when its streams watch 1 % of the
// profiles, against a stream of every profile (what every process heard
// before channels per profile).
import { startLocalCluster, type LocalCluster } from '../scripts/redis-cluster';
import { createRedis, deleteKeysWithPrefix } from '../lib/redis';
import { parseRedisUrl } from '../lib/redis-url';
import { cpuSeconds, waitForHealthy, type Server } from './processes';
import { triple } from './report';
import { createProfiles, fanOutOneChange, load, openFanout, seedResyncProfiles, SPREAD, stopLoad, type Bench } from './scenarios';
import { agent, openSse, sleep, summarize } from './support';

export const CLUSTER_BASE_PORT = 7301;
/** Three primaries and no replicas, for the resync only: what the replicas' share of the work costs. */
export const BARE_CLUSTER_BASE_PORT = 7311;
export const CLUSTER_WEB_PORTS = { single: 3487, cluster: 3488 } as const;
const PREFIX = 'ripple-bench-cluster:';

type Target = 'single' | 'cluster';
type Setup = { redisUrl: string; baseUrl: string; web: Server; worker: Server };

async function messagesHeard(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Number(/^ripple_live_messages_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** n single-row updates over the given profiles, one notification each, 100 to a transaction. */
async function writeSpread(bench: Bench, usernames: string[], n: number): Promise<void> {
  const perTransaction = 100;
  for (let done = 0; done < n; done += perTransaction) {
    const batch = Array.from({ length: Math.min(perTransaction, n - done) }, () => usernames[Math.floor(Math.random() * usernames.length)]);
    // One UPDATE per row change keeps each change its own notification and its own publish.
    const client = await bench.pool.connect();
    try {
      await client.query('BEGIN');
      for (const username of batch) await client.query('UPDATE profiles SET likes = likes + 1 WHERE username = $1', [username]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
}

export async function clusterScenario(bench: Bench): Promise<void> {
  const { smoke } = bench.options;
  const updates = Math.min(bench.options.updates, smoke ? 50 : 500);
  const fanoutStreams = bench.options.fanout;
  const watchedShare = 0.01;
  const changes = smoke ? 500 : 5_000;

  bench.log(`cluster: starting a local Redis Cluster on ports ${CLUSTER_BASE_PORT}-${CLUSTER_BASE_PORT + 5}`);
  const cluster: LocalCluster = await startLocalCluster({ basePort: CLUSTER_BASE_PORT });
  const redisUrls: Record<Target, string> = { single: bench.redisUrl, cluster: cluster.url };
  bench.onCleanup(async () => {
    await cluster.stop();
  });
  await createProfiles(bench, [...SPREAD, 'solo', 'fan']);

  const setups = {} as Record<Target, Setup>;
  for (const target of ['single', 'cluster'] as const) {
    const env = { REDIS_URL: redisUrls[target], REDIS_PREFIX: PREFIX, PORT: String(CLUSTER_WEB_PORTS[target]) };
    const worker = bench.startServer(`worker (${target})`, ['dist/worker.js'], env);
    const web = bench.startServer(`web (${target})`, ['dist/web.js'], env);
    const baseUrl = `http://127.0.0.1:${CLUSTER_WEB_PORTS[target]}`;
    await waitForHealthy(`${baseUrl}/healthz`, web);
    setups[target] = { redisUrl: redisUrls[target], baseUrl, web, worker };
  }
  // Two workers on one database: each target's cache is kept by its own, both hear every change.
  bench.log('cluster: web and worker up on one Redis and on the cluster');

  const results: Record<string, unknown> = {};
  const rows: Record<Target, Record<string, string>> = { single: {}, cluster: {} };

  // 1. Idle propagation, then a paced load over 1,000 profiles and as many streams.
  for (const target of ['single', 'cluster'] as const) {
    const { baseUrl, web } = setups[target];
    const loader = load(bench, `idle-${target}`);
    const idle = await loader.run<{ sendToFrame: number[] }>({ kind: 'idle', params: { baseUrl, databaseUrl: bench.databaseUrl, username: 'solo', updates, warmup: Math.min(50, updates) } });
    await stopLoad(bench, loader);
    const idleSummary = summarize(idle.sendToFrame);
    const rate = bench.options.steadyRate;
    const paced = load(bench, `paced-${target}`);
    const r = await paced.run<{ scheduleToFrame: number[]; missed: number; achievedRate: number }>({
      kind: 'open-loop',
      params: { baseUrl, usernames: SPREAD, streams: Math.min(bench.options.streams, SPREAD.length), rate, seconds: bench.options.loadSeconds, webPid: web.child.pid!, redisUrl: '', channel: '' },
    });
    await stopLoad(bench, paced);
    const pacedSummary = summarize(r.scheduleToFrame);
    rows[target].idle = triple(idleSummary);
    rows[target].paced = `${triple(pacedSummary)}${r.missed ? `, ${r.missed} missing` : ''} (${r.achievedRate.toFixed(0)}/s answered)`;
    results[`${target}Propagation`] = { idle: idleSummary, paced: pacedSummary, rate, missed: r.missed };
  }

  // 2. Resync into an empty cache, alternating so machine noise falls on each alike;
  // also on three primaries without replicas, which do the same work with none copied.
  const resyncProfiles = bench.options.resyncProfiles;
  await seedResyncProfiles(bench, resyncProfiles);
  bench.log(`cluster: starting three primaries without replicas on ports ${BARE_CLUSTER_BASE_PORT}-${BARE_CLUSTER_BASE_PORT + 2}`);
  const bare = await startLocalCluster({ basePort: BARE_CLUSTER_BASE_PORT, replicas: 0 });
  bench.onCleanup(async () => {
    await bare.stop();
  });
  const resyncUrls = { ...redisUrls, bare: bare.url };
  type ResyncTarget = keyof typeof resyncUrls;
  const order: ResyncTarget[] = ['single', 'cluster', 'bare'];
  const resyncMs: Record<ResyncTarget, number[]> = { single: [], cluster: [], bare: [] };
  const rounds = smoke ? 1 : 2;
  for (let round = 0; round < rounds; round += 1) {
    for (const target of round % 2 === 0 ? order : [...order].reverse()) {
      const loader = load(bench, `resync-${target}`);
      const r = await loader.run<{ profiles: number; ms: number }>({ kind: 'resync', params: { databaseUrl: bench.databaseUrl, redisUrl: resyncUrls[target], prefix: `${PREFIX}resync:`, raw: false } });
      await stopLoad(bench, loader);
      resyncMs[target].push(r.ms);
    }
    // The resync copies are not what the servers read: drop them now, not at the end.
    for (const target of order) await dropKeys(resyncUrls[target], `${PREFIX}resync:`);
  }
  await bare.stop();
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const seconds = (target: ResyncTarget) => `${(mean(resyncMs[target]) / 1000).toFixed(2)} s (${resyncMs[target].map((value) => (value / 1000).toFixed(2)).join(', ')})`;
  for (const target of ['single', 'cluster'] as const) rows[target].resync = seconds(target);
  const resyncRatio = mean(resyncMs.cluster) / mean(resyncMs.single);
  const bareRatio = mean(resyncMs.bare) / mean(resyncMs.single);
  results.resync = { profiles: resyncProfiles, ms: resyncMs, ratio: resyncRatio, bareRatio };

  // 3. Fan-out: one POST to fanoutStreams streams on one web process, as scenario 4.
  for (const target of ['single', 'cluster'] as const) {
    const { baseUrl } = setups[target];
    const { arrival, missing } = await fanOutOneChange(bench, await openFanout(bench, 'fan', fanoutStreams, baseUrl), 'fan', baseUrl);
    rows[target].fanout = `${triple(arrival)}${missing ? `, ${missing} missing` : ''}`;
    results[`${target}Fanout`] = { arrival, missing };
    await sleep(1_000);
  }

  // 4. Messages a web process receives: streams on 1 % of 1,000 profiles, writes spread over all of them.
  const watched = SPREAD.slice(0, Math.round(SPREAD.length * watchedShare));
  const heard: Record<Target, { watching: number; firehose: number }> = { single: { watching: 0, firehose: 0 }, cluster: { watching: 0, firehose: 0 } };
  for (const target of ['single', 'cluster'] as const) {
    const { baseUrl } = setups[target];
    const via = agent(Infinity);
    for (const mode of ['watching', 'firehose'] as const) {
      const query = mode === 'watching' ? watched.map((username) => `u=${username}`).join('&') : '';
      const stream = await openSse(new URL(`/stream${query ? `?${query}` : ''}`, baseUrl), via, () => undefined);
      await sleep(500);
      const before = await messagesHeard(baseUrl);
      const cpuBefore = cpuSeconds(setups[target].web.child.pid!);
      await writeSpread(bench, SPREAD, changes);
      // Let the worker apply the last of them and the web process hear them.
      await sleep(2_000);
      heard[target][mode] = (await messagesHeard(baseUrl)) - before;
      bench.log(`cluster: ${target}, ${mode}: ${heard[target][mode]} messages for ${changes} changes (web CPU ${((cpuSeconds(setups[target].web.child.pid!) - cpuBefore) * 1000).toFixed(0)} ms)`);
      stream.close();
      await sleep(300);
    }
    via.destroy();
    const share = (count: number) => `${count} (${((count / changes) * 100).toFixed(1)} %)`;
    rows[target].heard = `watching 1 %: ${share(heard[target].watching)}; every profile: ${share(heard[target].firehose)}`;
  }
  results.messages = { changes, watchedProfiles: watched.length, heard };

  bench.rows.push(
    { scenario: '8 Redis Cluster', measure: `idle POST sent → frame p50/p99/max (${updates} updates), cluster vs one Redis`, result: rows.cluster.idle, baseline: rows.single.idle },
    { scenario: '', measure: `paced ${bench.options.steadyRate}/s over 1000 profiles: scheduled send → frame`, result: rows.cluster.paced, baseline: rows.single.paced },
    { scenario: '', measure: `resync of ${resyncProfiles} profiles into an empty cache (mean of ${rounds}; each run)`, result: `${rows.cluster.resync}, ${resyncRatio.toFixed(2)}× one Redis`, baseline: rows.single.resync },
    { scenario: '', measure: 'the same resync on 3 primaries without replicas (what copying to the replicas costs on these cores)', result: `${seconds('bare')}, ${bareRatio.toFixed(2)}× one Redis`, baseline: rows.single.resync },
    { scenario: '', measure: `fan-out: POST sent → each of ${fanoutStreams} streams on one web process has it (p50/p99/max)`, result: rows.cluster.fanout, baseline: rows.single.fanout },
    { scenario: '', measure: `messages one web process receives for ${changes} changes over 1000 profiles`, result: rows.cluster.heard, baseline: rows.single.heard },
  );
  bench.results.cluster = results;
  for (const target of ['single', 'cluster'] as const) {
    await setups[target].web.stop();
    await setups[target].worker.stop();
  }
  for (const target of ['single', 'cluster'] as const) await dropKeys(redisUrls[target], PREFIX);
}

async function dropKeys(redisUrl: string, prefix: string): Promise<void> {
  const client = createRedis('bench clean-up', {}, parseRedisUrl(redisUrl));
  await deleteKeysWithPrefix(client, prefix);
  client.disconnect();
}
