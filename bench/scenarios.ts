// The scenarios of issues 4, 11, 13 and 14, each with its baseline measured in the same run.
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { createProfileCache } from '../lib/cache/profile-cache';
import { deleteKeysWithPrefix } from '../lib/redis';
import type { FanoutParams } from './load-fanout';
import { cpuSeconds, rssBytes, startLoad, type LoadProcess, type Server } from './processes';
import { cell, perRequest, runtimes } from './scenario-per-request';
import { ms, triple, type Row, type Series } from './report';
import { clusterScenario } from './scenario-cluster';
import { changeSources } from './scenario-sources';
import { agent, now, postJson, sleep, summarize, type Summary } from './support';

export type Bench = {
  options: {
    smoke: boolean; perRequest: number;
    updates: number; rate: number; steadyRate: number; loadSeconds: number; streams: number; writeSeconds: number; concurrency: number; pathConcurrency: number;
    fanout: number; idleStreams: number; idleSeconds: number; resyncProfiles: number;
    sourceSeconds: number; absenceSeconds: number;
  };
  log: (text: string) => void;
  pool: pg.Pool;
  redis: Redis;
  fileLimit: number;
  loads: LoadProcess[];
  rows: Row[];
  series: Series[];
  results: Record<string, unknown>;
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  urlOn: string;
  urlOff: string;
  webPid: number;
  cores: number;
  /** Runs at the end of the bench (and on Ctrl-C), before the bench database is dropped. */
  onCleanup: (work: () => Promise<void>) => void;
  /** Starts one more server for the run (stopped with the others at the end). */
  startServer: (name: string, args: string[], env: Record<string, string>, node?: string) => Server;
};

export const SPREAD = Array.from({ length: 1000 }, (_, i) => `b${String(i).padStart(4, '0')}`);

export function load(bench: Bench, name: string): LoadProcess {
  const started = startLoad(name, bench.fileLimit, bench.log);
  bench.loads.push(started);
  return started;
}

export async function stopLoad(bench: Bench, process: LoadProcess): Promise<void> {
  await process.stop();
  bench.loads.splice(bench.loads.indexOf(process), 1);
}

export async function createProfiles(bench: Bench, usernames: string[]): Promise<void> {
  await bench.pool.query(
    `INSERT INTO profiles (username, display_name, followers, followings, likes)
     SELECT u, 'Bench ' || u, 0, 0, 0 FROM unnest($1::text[]) AS u ON CONFLICT DO NOTHING`,
    [usernames],
  );
}

type Idle = Record<'sendToFrame' | 'answerToFrame' | 'sendToAnswer' | 'updateToNotify' | 'commitToNotify', number[]>;

async function idle(bench: Bench): Promise<void> {
  await createProfiles(bench, ['solo']);
  const loader = load(bench, 'idle');
  const per = await perRequest(bench, loader, 'solo');
  const warmup = Math.min(100, bench.options.updates);
  const cpuBefore = cpuSeconds(bench.webPid);
  const r = await loader.run<Idle>({ kind: 'idle', params: { baseUrl: bench.urlOn, databaseUrl: bench.databaseUrl, username: 'solo', updates: bench.options.updates, warmup } });
  // Web CPU per update: its POST and the frame it sends (the task's LISTEN baseline afterwards costs the web server nothing).
  const cpuPerUpdate = ((cpuSeconds(bench.webPid) - cpuBefore) * 1000) / (bench.options.updates + warmup);
  await stopLoad(bench, loader);
  const s = Object.fromEntries(Object.entries(r).map(([key, values]) => [key, summarize(values)])) as Record<keyof Idle, ReturnType<typeof summarize>>;
  const n = bench.options.updates;
  bench.rows.push(
    { scenario: '1 idle propagation', measure: `POST sent → SSE frame, p50/p99/max (${n} updates)`, result: triple(s.sendToFrame), baseline: `UPDATE sent → NOTIFY heard: ${triple(s.updateToNotify)}` },
    { scenario: '', measure: '200 received → SSE frame', result: triple(s.answerToFrame), baseline: `commit returned → NOTIFY heard: ${triple(s.commitToNotify)}` },
    { scenario: '', measure: 'POST sent → 200 received', result: triple(s.sendToAnswer), baseline: '' },
    ...per.rows,
    {
      scenario: '',
      measure: 'idle propagation: web CPU per update (its POST and its frame); POST sent → frame p50/p99 against the bare POST round trip',
      result: `${cpuPerUpdate.toFixed(2)} ms CPU; p50/p99 ${ms(s.sendToFrame.p50)}/${ms(s.sendToFrame.p99)} ms`,
      baseline: `bare POST: ${cell(per.results.postBase)}`,
    },
  );
  bench.series.push(
    { label: '1 POST sent → frame', summary: s.sendToFrame },
    { label: '1 200 received → frame', summary: s.answerToFrame },
    { label: '1 baseline UPDATE → NOTIFY', summary: s.updateToNotify },
  );
  bench.results.idle = s;
  bench.results.perRequest = { ...per.results, idleCpuPerUpdateMs: cpuPerUpdate };
}

type OpenLoop = { workerLag: number[]; scheduleToFrame: number[]; scheduleToAnswer: number[]; statuses: Record<string, number>; missed: number; webCpuPercent: number; offeredRate: number; achievedRate: number };

async function openLoopAt(bench: Bench, rate: number): Promise<void> {
  const { loadSeconds, streams } = bench.options;
  const loader = load(bench, `open-loop-${rate}`);
  const r = await loader.run<OpenLoop>({ kind: 'open-loop', params: { baseUrl: bench.urlOn, usernames: SPREAD, streams, rate, seconds: loadSeconds, webPid: bench.webPid, redisUrl: bench.redisUrl, channel: createProfileCache(bench.redis, bench.prefix).channel } });
  await stopLoad(bench, loader);
  const frame = summarize(r.scheduleToFrame);
  const answer = summarize(r.scheduleToAnswer);
  const lag = summarize(r.workerLag);
  const errors = Object.entries(r.statuses).filter(([status]) => status !== '200').map(([status, count]) => `${count}×${status === '0' ? 'socket error' : status}`);
  const idle = bench.results.idle as Record<string, ReturnType<typeof summarize>> | undefined;
  bench.rows.push(
    { scenario: `2 open-loop ${rate}/s`, measure: `scheduled send → SSE frame (${rate}/s offered for ${loadSeconds} s over ${Math.min(streams, SPREAD.length)} profiles, ${streams} streams)`, result: triple(frame), baseline: `idle: ${idle ? triple(idle.sendToFrame) : 'n/a'}` },
    { scenario: '', measure: 'scheduled send → 200', result: triple(answer), baseline: '' },
    { scenario: '', measure: 'worker lag: row written → in the cache (its PUBLISH heard)', result: triple(lag), baseline: '' },
    { scenario: '', measure: 'answered rate; frames missing; errors; web CPU', result: `${r.achievedRate.toFixed(0)}/s; ${r.missed}; ${errors.join(', ') || 'none'}; ${r.webCpuPercent.toFixed(0)} % of a core`, baseline: `offered ${rate}/s` },
  );
  bench.series.push({ label: `2 open loop ${rate}/s → frame`, summary: frame });
  (bench.results.openLoop as Record<number, unknown>)[rate] = { frame, answer, workerLag: lag, statuses: r.statuses, missed: r.missed, achievedRate: r.achievedRate, webCpuPercent: r.webCpuPercent };
}

async function openLoop(bench: Bench): Promise<void> {
  await createProfiles(bench, SPREAD);
  bench.results.openLoop = {};
  // The issue's rate, and one this machine can sustain, so both saturation and steady state show.
  for (const rate of [bench.options.rate, bench.options.steadyRate]) await openLoopAt(bench, rate);
}

type Throughput = { latencies: number[]; statuses: Record<string, number>; elapsedMs: number; ok: number };

type WriteStats = { batches: number; requests: number };

async function writeStats(baseUrl: string): Promise<WriteStats> {
  return ((await (await fetch(`${baseUrl}/healthz`)).json()) as { writes: WriteStats }).writes;
}

async function throughput(bench: Bench): Promise<void> {
  await createProfiles(bench, [...SPREAD, 'hot']);
  const { writeSeconds, concurrency } = bench.options;
  const loaders = [load(bench, 'writer-1'), load(bench, 'writer-2')];
  const slice = (baseUrl: string, usernames: string[], seconds: number) =>
    Promise.all(loaders.map((loader) => loader.run<Throughput>({ kind: 'throughput', params: { baseUrl, usernames, concurrency: Math.ceil(concurrency / 2), seconds } })));
  // Warm both servers (JIT, pools) so neither pays for a cold start in its measured run.
  for (const baseUrl of [bench.urlOn, bench.urlOff]) await slice(baseUrl, SPREAD, Math.min(2, writeSeconds));

  // On and off alternate in short slices, so load from anything else on the
  // machine falls on both alike instead of on whichever ran second.
  const rounds = Math.max(1, Math.round(writeSeconds / 2));
  const measure = async (usernames: string[]) => {
    const parts = { on: [] as Throughput[], off: [] as Throughput[] };
    const before = await writeStats(bench.urlOn);
    for (let round = 0; round < rounds; round += 1) {
      parts.on.push(...(await slice(bench.urlOn, usernames, writeSeconds / rounds)));
      parts.off.push(...(await slice(bench.urlOff, usernames, writeSeconds / rounds)));
    }
    const after = await writeStats(bench.urlOn);
    const sum = (list: Throughput[]) => {
      const ok = list.reduce((total, part) => total + part.ok, 0);
      const failed = list.reduce((total, part) => total + Object.entries(part.statuses).filter(([s]) => s !== '200').reduce((n, [, c]) => n + c, 0), 0);
      // Each pair of load processes ran side by side; their slices add up in time.
      const seconds = list.reduce((total, part, index) => total + (index % 2 === 0 ? part.elapsedMs : 0), 0) / 1000;
      return { perSecond: ok / seconds, latency: summarize(list.flatMap((part) => part.latencies)), failed };
    };
    return {
      on: { ...sum(parts.on), writesPerCommit: (after.requests - before.requests) / Math.max(after.batches - before.batches, 1) },
      off: { ...sum(parts.off), writesPerCommit: 1 },
    };
  };
  const spread = await measure(SPREAD);
  const hot = await measure(['hot']);
  await Promise.all(loaders.map((loader) => stopLoad(bench, loader)));
  const path = await writePath(bench, rounds);
  const cell = (run: typeof spread.on) =>
    `${run.perSecond.toFixed(0)}/s, p50/p99 ${ms(run.latency.p50)}/${ms(run.latency.p99)} ms, ${run.writesPerCommit.toFixed(1)} writes/commit${run.failed ? `, ${run.failed} failed` : ''}`;
  bench.rows.push(
    { scenario: '3 write throughput', measure: `1000 profiles, ${concurrency} connections, coalescing on vs off`, result: cell(spread.on), baseline: cell(spread.off) },
    { scenario: '', measure: `one hot profile, ${concurrency} connections`, result: cell(hot.on), baseline: cell(hot.off) },
    { scenario: '3 write path, no HTTP', measure: `1000 profiles, ${bench.options.pathConcurrency} callers of applyDeltas in one process, coalescing on vs off`, result: cell(path.spread.on), baseline: cell(path.spread.off) },
    { scenario: '', measure: `one hot profile, ${bench.options.pathConcurrency} callers`, result: cell(path.hot.on), baseline: cell(path.hot.off) },
  );
  bench.series.push(
    { label: '3 POST latency, 1000 profiles, on', summary: spread.on.latency },
    { label: '3 POST latency, 1000 profiles, off', summary: spread.off.latency },
    { label: '3 POST latency, hot profile, on', summary: hot.on.latency },
    { label: '3 POST latency, hot profile, off', summary: hot.off.latency },
    { label: '3 write path latency, 1000 profiles, on', summary: path.spread.on.latency },
    { label: '3 write path latency, 1000 profiles, off', summary: path.spread.off.latency },
  );
  bench.results.throughput = { spread, hot, writePath: path };
}

type PathRun = { latencies: number[]; outcomes: Record<string, number>; elapsedMs: number; ok: number; batches: number };

/**
 * The same writes without HTTP: callers in a load process drive the endpoint's
 * own write path (createDeltaWriter) against the bench database, so the figure
 * is what Postgres and coalescing allow with Next's per-request cost removed.
 */
async function writePath(bench: Bench, rounds: number) {
  const loader = load(bench, 'write-path');
  const { writeSeconds, pathConcurrency } = bench.options;
  const slice = (coalescing: 'on' | 'off', usernames: string[], seconds: number) =>
    loader.run<PathRun>({ kind: 'write-path', params: { databaseUrl: bench.databaseUrl, usernames, concurrency: pathConcurrency, seconds, coalescing } });
  for (const coalescing of ['on', 'off'] as const) await slice(coalescing, SPREAD, Math.min(1, writeSeconds));
  const measure = async (usernames: string[]) => {
    const parts = { on: [] as PathRun[], off: [] as PathRun[] };
    for (let round = 0; round < rounds; round += 1) {
      parts.on.push(await slice('on', usernames, writeSeconds / rounds));
      parts.off.push(await slice('off', usernames, writeSeconds / rounds));
    }
    const sum = (list: PathRun[]) => {
      const ok = list.reduce((total, part) => total + part.ok, 0);
      const requests = list.reduce((total, part) => total + Object.values(part.outcomes).reduce((n, c) => n + c, 0), 0);
      const batches = list.reduce((total, part) => total + part.batches, 0);
      const seconds = list.reduce((total, part) => total + part.elapsedMs, 0) / 1000;
      return { perSecond: ok / seconds, latency: summarize(list.flatMap((part) => part.latencies)), failed: requests - ok, writesPerCommit: requests / Math.max(batches, 1) };
    };
    return { on: sum(parts.on), off: sum(parts.off) };
  };
  const spread = await measure(SPREAD);
  const hot = await measure(['hot']);
  await stopLoad(bench, loader);
  return { spread, hot };
}

/**
 * Sends one POST to `username` and waits for every stream the loaders hold
 * (openFanout) to have it: POST sent → arrival on each, and how many never
 * got it within 30 s. Closes the streams and stops the loaders afterwards.
 */
export async function fanOutOneChange(bench: Bench, loaders: LoadProcess[], username: string, baseUrl: string): Promise<{ arrival: Summary; missing: number }> {
  const { rows } = await bench.pool.query<{ version: string }>('SELECT version FROM profiles WHERE username = $1', [username]);
  await Promise.all(loaders.map((loader) => loader.run({ kind: 'fanout-expect', params: { version: Number(rows[0].version) + 1 } })));
  const via = agent(1);
  const sent = now();
  await postJson(new URL(`/v1/profile/${username}`, baseUrl), { likes: 1 }, via);
  via.destroy();
  const parts = await Promise.all(loaders.map((loader) => loader.run<{ arrivals: number[]; missing: number }>({ kind: 'fanout-collect', params: { timeoutMs: 30_000 } })));
  const arrival = summarize(parts.flatMap((part) => part.arrivals.map((at) => at - sent)));
  const missing = parts.reduce((sum, part) => sum + part.missing, 0);
  await Promise.all(loaders.map((loader) => loader.run({ kind: 'fanout-close', params: {} })));
  await Promise.all(loaders.map((loader) => stopLoad(bench, loader)));
  return { arrival, missing };
}

export async function openFanout(bench: Bench, username: string, streams: number, baseUrl = bench.urlOn): Promise<LoadProcess[]> {
  const perProcess = 2_500;
  const count = Math.ceil(streams / perProcess);
  const loaders = Array.from({ length: count }, (_, i) => load(bench, `fan-${i + 1}`));
  await Promise.all(loaders.map((loader, i) => {
    const params: FanoutParams = { baseUrl, username, streams: Math.min(perProcess, streams - i * perProcess) };
    return loader.run({ kind: 'fanout-open', params });
  }));
  return loaders;
}

async function fanout(bench: Bench): Promise<void> {
  await createProfiles(bench, ['fan', 'quiet']);
  const { fanout: n, idleStreams, idleSeconds } = bench.options;
  const cpuOver = async () => {
    const before = cpuSeconds(bench.webPid);
    await sleep(idleSeconds * 1_000);
    return ((cpuSeconds(bench.webPid) - before) / idleSeconds) * 100;
  };
  // Idle CPU first: closing 10,000 streams leaves garbage to collect for a while.
  const cpuNone = await cpuOver();
  const idlers = await openFanout(bench, 'quiet', idleStreams);
  // Opening them is not sitting idle: let the collector finish with the garbage of the handshakes first.
  await sleep(Math.min(3, idleSeconds) * 1_000);
  const cpuIdle = await cpuOver();
  await Promise.all(idlers.map((loader) => loader.run({ kind: 'fanout-close', params: {} })));
  await Promise.all(idlers.map((loader) => stopLoad(bench, loader)));
  await sleep(1_000);

  const rssBefore = rssBytes(bench.webPid);
  const opening = now();
  const loaders = await openFanout(bench, 'fan', n);
  const openSeconds = (now() - opening) / 1000;
  await sleep(1_000);
  const perStream = (rssBytes(bench.webPid) - rssBefore) / n;
  bench.log(`fan-out: ${n} streams open in ${openSeconds.toFixed(1)} s; sending one update`);

  const { arrival, missing } = await fanOutOneChange(bench, loaders, 'fan', bench.urlOn);

  bench.rows.push(
    { scenario: '4 fan-out', measure: `${n} streams on one profile, one web process: POST sent → every stream has it (p50/p99/max)`, result: `${triple(arrival)}${missing ? `, ${missing} missing` : ''}`, baseline: 'one stream: scenario 1' },
    { scenario: '', measure: 'web memory per open stream (RSS growth / streams)', result: `${(perStream / 1024).toFixed(1)} KiB`, baseline: `RSS before ${(rssBefore / 2 ** 20).toFixed(0)} MiB` },
    { scenario: '', measure: `web CPU with ${idleStreams} idle streams over ${idleSeconds} s`, result: `${cpuIdle.toFixed(1)} % of a core`, baseline: `no streams: ${cpuNone.toFixed(1)} %` },
  );
  bench.series.push({ label: `4 fan-out to ${n} streams`, summary: arrival });
  bench.results.fanout = { arrival, missing, openSeconds, perStreamBytes: perStream, cpuIdlePercent: cpuIdle, cpuNonePercent: cpuNone };
}

/** n profiles written with the triggers off (seeding must not become n notifications). */
export async function seedResyncProfiles(bench: Bench, n: number): Promise<void> {
  const client = await bench.pool.connect();
  try {
    // Replica role skips the triggers: seeding must not become n notifications.
    await client.query("SET session_replication_role = 'replica'");
    await client.query(
      `INSERT INTO profiles (username, display_name, bio, followers, followings, likes)
       SELECT 'r' || lpad(i::text, 7, '0'), 'Resync ' || i, 'Made by the bench.', i % 5000, i % 700, i % 90000
       FROM generate_series(1, $1::int) AS i ON CONFLICT DO NOTHING`,
      [n],
    );
    await client.query("SET session_replication_role = 'origin'");
    // As autovacuum would soon: without statistics the planner reads the whole
    // table for every page of the orphan check.
    await client.query('ANALYZE profiles');
  } finally {
    client.release();
  }
}

async function resync(bench: Bench): Promise<void> {
  const n = bench.options.resyncProfiles;
  await seedResyncProfiles(bench, n);
  await deleteKeysWithPrefix(bench.redis, `${bench.prefix}profile:`);
  const loader = load(bench, 'resync');
  const r = await loader.run<{ profiles: number; applied: number; ms: number; rawProfiles: number; rawMs: number }>({
    kind: 'resync', params: { databaseUrl: bench.databaseUrl, redisUrl: bench.redisUrl, prefix: bench.prefix },
  });
  await stopLoad(bench, loader);
  const rate = (count: number, took: number) => `${(count / (took / 1000)).toFixed(0)} profiles/s`;
  bench.rows.push({
    scenario: '5 resync',
    measure: `${r.profiles} profiles into an empty cache (worker's resyncCache)`,
    result: `${(r.ms / 1000).toFixed(2)} s, ${rate(r.profiles, r.ms)}, ${r.applied} applied`,
    baseline: `same pages, plain HSET: ${(r.rawMs / 1000).toFixed(2)} s, ${rate(r.rawProfiles, r.rawMs)}`,
  });
  bench.results.resync = r;
}

export const scenarios: Array<{ title: string; run: (bench: Bench) => Promise<void> }> = [
  { title: 'idle propagation', run: idle },
  { title: 'propagation under open-loop load', run: openLoop },
  { title: 'write throughput, coalescing on vs off', run: throughput },
  { title: 'fan-out, memory and idle CPU', run: fanout },
  { title: 'resync into an empty cache', run: resync },
  {
    title: 'runtime, web processes and compression',
    run: async (bench) => {
      await createProfiles(bench, ['solo', 'hot']);
      const loader = load(bench, 'runtimes');
      await runtimes(bench, loader);
      await stopLoad(bench, loader);
    },
  },
  { title: 'change source: direct writers, NOTIFY against logical replication', run: changeSources },
  { title: 'Redis Cluster against one Redis', run: clusterScenario },
];
