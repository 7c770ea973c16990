// `npm run bench`: measures Ripple end to end on this machine against its own
// database (ripple_bench), key prefix (ripple-bench:) and ports (3400, 3401, 3480-3486,
// scenario 7's own PostgreSQL on 5480, scenario 8's web servers on 3487-3488 and Redis Clusters on 7301-7306 and 7311-7313),
// and drops them when it finishes. `npm run bench -- --help` lists the flags.
import { execSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { dropDatabase, ensureDatabase, migrate } from '../lib/migrate';
import { buildNeeded } from '../scripts/build-state';
import { deleteKeysWithPrefix } from '../lib/redis';
import { machine, table, writeResults, type Row, type Series } from './report';
import { startServer, waitForHealthy, type LoadProcess, type Server } from './processes';
import { scenarios, type Bench } from './scenarios';
import { SOURCES_PG_PORT } from './scenario-sources';
import { BARE_CLUSTER_BASE_PORT, CLUSTER_BASE_PORT, CLUSTER_WEB_PORTS } from './scenario-cluster';

const root = path.resolve(import.meta.dirname, '..');
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/ripple_bench';
const REDIS_URL = 'redis://127.0.0.1:6379';
const REDIS_PREFIX = 'ripple-bench:';
const PORT_ON = 3400;
const PORT_OFF = 3401;
let interrupted = false;

const { values: flags } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
    only: { type: 'string' },
    updates: { type: 'string' },
    rate: { type: 'string' },
    'steady-rate': { type: 'string' },
    'load-seconds': { type: 'string' },
    streams: { type: 'string' },
    'write-seconds': { type: 'string' },
    concurrency: { type: 'string' },
    'path-concurrency': { type: 'string' },
    fanout: { type: 'string' },
    'idle-streams': { type: 'string' },
    'idle-seconds': { type: 'string' },
    'resync-profiles': { type: 'string' },
    'source-seconds': { type: 'string' },
    'absence-seconds': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'per-request': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const HELP = `npm run bench [-- flags]
  --smoke                  tiny sizes, finishes in seconds (CI)
  --cluster                scenario 8 only: one Redis against a local Redis Cluster (3 primaries, 3 replicas on
                           ports 7301-7306, and 3 primaries alone on 7311-7313 for the resync; started and
                           removed by the bench), same run, same build
  --only 1,3               run only these scenarios (1 per request and idle, 2 open loop, 3 throughput, 4 fan-out, 5 resync,
                           6 runtime, web processes and compression, 7 change source: NOTIFY vs logical replication,
                           8 Redis Cluster vs one Redis; 8 runs only when asked, or with --cluster)
  --per-request N          scenarios 1 and 6: sequential requests per measure (default 1000)
  --updates N              scenario 1: sequential updates measured (default 2000)
  --rate N --steady-rate N --load-seconds S --streams N
                           scenario 2: offered updates/s, a second lower rate, duration, open streams (2000, 250, 10, 1000)
  --write-seconds S --concurrency N       scenario 3: seconds per run, connections (8, 32)
  --path-concurrency N     scenario 3 without HTTP: concurrent callers of the write path (128)
  --fanout N --idle-streams N --idle-seconds S   scenario 4 (10000, 1000, 10)
  --resync-profiles N      scenario 5 (100000)
  --source-seconds S --absence-seconds S  scenario 7: seconds per pgbench slice, the worker's absence (5, 30)
  --cpu-prof               write V8 CPU profiles of both web servers to bench/results/profiles/`;

function option(name: keyof typeof flags, normal: number, smoke: number): number {
  const raw = flags[name];
  if (typeof raw === 'string') {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, not "${raw}"`);
    return value;
  }
  return flags.smoke ? smoke : normal;
}

/** A reason not to start that the user can act on: printed without a stack. */
class CannotStart extends Error {}

/**
 * One bench per machine: a session advisory lock in Postgres, held for the
 * whole run and released by Postgres itself if this process dies.
 */
async function holdBenchLock(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: new URL('/postgres', DATABASE_URL).toString() });
  await client.connect();
  const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock(hashtext('ripple-bench')) AS locked");
  if (!rows[0].locked) {
    await client.end();
    throw new CannotStart('another `npm run bench` is running on this machine (it owns ripple_bench and ports 3400-3401); wait for it to finish');
  }
  return client;
}

async function assertPortsFree(ports: number[]): Promise<void> {
  for (const port of ports) {
    await new Promise<void>((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', () => reject(new CannotStart(`port ${port} is taken: the bench starts its own servers on ${ports.join(' and ')}; stop what listens there`)));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  }
}

function ensureBuild(log: (text: string) => void): void {
  const why = buildNeeded(root);
  if (!why) return;
  log(`bench: building (${why})`);
  execSync('npm run --silent build', { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
}

function deleteKeys(redis: Redis): Promise<void> {
  return deleteKeysWithPrefix(redis, REDIS_PREFIX);
}

async function main(): Promise<void> {
  if (flags.help) {
    console.log(HELP);
    return;
  }
  const started = Date.now();
  const log = (text: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${text}`);
  const only = new Set((flags.only ?? (flags.cluster ? '8' : '1,2,3,4,5,6,7')).split(',').map((value) => Number(value.trim())));
  const options = {
    smoke: flags.smoke ?? false,
    perRequest: option('per-request', 1000, 40),
    updates: option('updates', 2000, 50),
    rate: option('rate', 2000, 200),
    steadyRate: option('steady-rate', 250, 50),
    loadSeconds: option('load-seconds', 10, 1),
    streams: option('streams', 1000, 50),
    writeSeconds: option('write-seconds', 8, 1),
    concurrency: option('concurrency', 32, 8),
    pathConcurrency: option('path-concurrency', 128, 16),
    fanout: option('fanout', 10_000, 200),
    idleStreams: option('idle-streams', 1000, 50),
    idleSeconds: option('idle-seconds', 10, 1),
    resyncProfiles: option('resync-profiles', 100_000, 2000),
    sourceSeconds: option('source-seconds', 5, 1),
    absenceSeconds: option('absence-seconds', 30, 2),
  };
  const hardLimit = Number(execSync('ulimit -Hn', { shell: '/bin/sh' }).toString().trim()) || 1024;
  const fileLimit = Math.min(hardLimit, 65_536);
  if (fileLimit < Math.min(options.fanout, 2_500) + 256) {
    throw new Error(`ulimit -Hn is ${hardLimit}: too low for ${options.fanout} streams; raise the hard limit or pass a smaller --fanout`);
  }

  // Before anything is dropped: a second run would drop the first one's database under it.
  const lock = await holdBenchLock();
  await assertPortsFree([
    PORT_ON, PORT_OFF, ...Array.from({ length: 7 }, (_, i) => 3480 + i), SOURCES_PG_PORT,
    ...(only.has(8) ? [...Object.values(CLUSTER_WEB_PORTS), ...Array.from({ length: 6 }, (_, i) => CLUSTER_BASE_PORT + i), ...Array.from({ length: 3 }, (_, i) => BARE_CLUSTER_BASE_PORT + i)] : []),
  ]);
  ensureBuild(log);
  const servers: Server[] = [];
  const loads: LoadProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  const redis = new Redis(REDIS_URL);
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  let cleaning: Promise<void> | undefined;
  // Idempotent: a Ctrl-C and the failure it causes in a running scenario both end up here.
  const cleanup = () =>
    (cleaning ??= (async () => {
      await Promise.all(loads.map((load) => load.stop()));
      for (const server of servers.reverse()) await server.stop();
      for (const work of cleanups.reverse()) await work().catch((error: Error) => log(`bench: clean-up failed: ${error.message}`));
      await pool.end().catch(() => undefined);
      await deleteKeys(redis).catch(() => undefined);
      redis.disconnect();
      await dropDatabase(DATABASE_URL).catch((error: Error) => log(`bench: could not drop ripple_bench: ${error.message}`));
      await lock.end().catch(() => undefined);
    })());
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('bench: interrupted; stopping the servers and dropping ripple_bench (Ctrl-C again to leave them)');
    void cleanup().finally(() => process.exit(130));
  });

  try {
    await dropDatabase(DATABASE_URL);
    await ensureDatabase(DATABASE_URL);
    await migrate(DATABASE_URL);
    await deleteKeys(redis);
    const env = {
      DATABASE_URL, REDIS_URL, REDIS_PREFIX, NODE_ENV: 'production', LOG_LEVEL: 'warn', LOG_FORMAT: 'json',
      NEXT_TELEMETRY_DISABLED: '1', RESYNC_INTERVAL_MS: '600000',
      // The load comes from one address: per-client write and stream limits would measure themselves.
      // The limits still run (their cost is part of every request), but never refuse.
      RATE_LIMIT_BURST: '100000000', RATE_LIMIT_PER_SECOND: '100000000', MAX_STREAMS_PER_CLIENT: '1000000', READ_RATE_LIMIT_PER_SECOND: '100000000',
      MAX_STREAMS_PER_PROCESS: '1000000', MAX_CONNECTIONS: '1000000',
      WORKER_METRICS_PORT: '0', HOST: '127.0.0.1', WEB_CONCURRENCY: '1', BENCH_BASELINE_ROUTE: 'on',
    };
    const profile = flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, 'bench', 'results', 'profiles')}`] : [];
    // The production web launcher, one process each, so per-process figures (memory per stream) stay per process.
    const webOn = startServer('web (coalescing on)', [...profile, 'dist/web.js'], { ...env, PORT: String(PORT_ON), WRITE_COALESCING: 'on' }, fileLimit);
    servers.push(webOn);
    servers.push(startServer('worker', ['dist/worker.js'], env, fileLimit));
    const webOff = startServer('web (coalescing off)', [...profile, 'dist/web.js'], { ...env, PORT: String(PORT_OFF), WRITE_COALESCING: 'off' }, fileLimit);
    servers.push(webOff);
    await waitForHealthy(`http://127.0.0.1:${PORT_ON}/healthz`, webOn);
    await waitForHealthy(`http://127.0.0.1:${PORT_OFF}/healthz`, webOff);
    log(`bench: web :${PORT_ON} (coalescing on, pid ${webOn.child.pid}), web :${PORT_OFF} (off), worker up; database ripple_bench`);

    const rows: Row[] = [];
    const series: Series[] = [];
    const results: Record<string, unknown> = {};
    const bench: Bench = {
      options, log, pool, redis, fileLimit, loads, rows, series, results,
      databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, prefix: REDIS_PREFIX,
      urlOn: `http://127.0.0.1:${PORT_ON}`, urlOff: `http://127.0.0.1:${PORT_OFF}`, webPid: webOn.child.pid!,
      cores: os.availableParallelism(),
      onCleanup: (work) => cleanups.push(work),
      startServer: (name, args, extra, node) => {
        const server = startServer(name, args, { ...env, ...extra }, fileLimit, node);
        servers.push(server);
        return server;
      },
    };
    for (const [index, scenario] of scenarios.entries()) {
      if (!only.has(index + 1)) continue;
      log(`bench: scenario ${index + 1}: ${scenario.title}`);
      await scenario.run(bench);
    }

    const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    const files = writeResults(path.join(root, 'bench', 'results'), { command, machine: machine(), options, rows, series, results, seconds: (Date.now() - started) / 1000 });
    const m = machine();
    console.log(`\n${command}  (${m.cpus} cores, ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node})\n`);
    console.log(table(rows));
    console.log(`\nresults: ${path.relative(root, files.json)}  chart: ${path.relative(root, files.chart)}  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await cleanup();
  }
}

main().catch((error: Error) => {
  // After Ctrl-C the SIGINT handler finishes the clean-up and exits.
  if (interrupted) return;
  console.error(`bench failed: ${error instanceof CannotStart ? error.message : (error.stack ?? error.message)}`);
  process.exit(1);
});
