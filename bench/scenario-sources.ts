// Scenario 7, issue 13: what the change source costs writers that do not
// coalesce (pgbench, single-row UPDATEs over 1,000 profiles), and what it
// gives: commits/s with no propagation (the floor), the notify trigger, and
// logical replication; commit → frame for both; catch-up after an absence.
// All on one project-local cluster with wal_level=logical, in one run.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { slotName } from '../lib/change-source';
import { dropDatabase, ensureDatabase, migrate } from '../lib/migrate';
import { deleteKeysWithPrefix } from '../lib/redis';
import { findPostgresBin } from '../scripts/find-binaries';
import { ensureLocalServers, stopLocalServers } from '../scripts/local-servers';
import { cpuSeconds, type Server } from './processes';
import { ms, triple, type Row } from './report';
import { load, stopLoad, type Bench } from './scenarios';
import { sleep, summarize } from './support';

const root = path.resolve(import.meta.dirname, '..');
export const SOURCES_PG_PORT = 5480;
export const SOURCES_WEB_PORT = 3486;
const DATABASE = 'ripple_bench_sources';
const PREFIX = 'ripple-bench-sources:';
const USERS = Array.from({ length: 1000 }, (_, i) => `b${String(i).padStart(4, '0')}`);

// floor: no trigger, no slot. unheard: the notify trigger with nobody listening
// (the lock alone). notify: the trigger and a worker LISTENing, as Ripple runs.
// logical: no trigger, a worker streaming the slot.
type Kind = 'floor' | 'unheard' | 'notify' | 'logical';

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - fields[3] - (fields[4] ?? 0), total };
}

export async function changeSources(bench: Bench): Promise<void> {
  const { smoke } = bench.options;
  const sliceSeconds = bench.options.sourceSeconds;
  const absenceSeconds = bench.options.absenceSeconds;
  const connections = smoke ? [16] : [16, 64];
  const rounds = smoke ? 1 : 2;
  const probes = smoke ? 20 : 500;
  const url = `postgres://postgres@127.0.0.1:${SOURCES_PG_PORT}/${DATABASE}`;
  const dataDir = path.join(root, '.data', 'bench-sources');
  const bin = findPostgresBin();
  if (!bin) throw new Error('scenario 7 needs PostgreSQL installed (initdb, pg_ctl and pgbench)');
  rmSync(dataDir, { recursive: true, force: true });
  const started = await ensureLocalServers({ databaseUrl: url, redisUrl: bench.redisUrl, dataDir, log: bench.log });
  let pool: pg.Pool | undefined;
  let worker: Server | null = null;
  const script = path.join(os.tmpdir(), `ripple-bench-update-${process.pid}.sql`);
  writeFileSync(script, "\\set id random(0, 999)\nUPDATE profiles SET likes = likes + 1 WHERE username = 'b' || lpad(:id::text, 4, '0');\n");
  bench.onCleanup(async () => {
    await worker?.stop();
    await pool?.end().catch(() => undefined);
    rmSync(script, { force: true });
    await stopLocalServers(started);
    rmSync(dataDir, { recursive: true, force: true });
  });

  await ensureDatabase(url);
  await migrate(url);
  pool = new pg.Pool({ connectionString: url, max: 3 });
  const level = (await pool.query<{ wal_level: string }>('SHOW wal_level')).rows[0].wal_level;
  if (level !== 'logical') throw new Error(`scenario 7: PostgreSQL on ${SOURCES_PG_PORT} has wal_level=${level}; stop it (the bench starts its own there)`);
  await pool.query(`INSERT INTO profiles (username, display_name) SELECT u, 'Bench ' || u FROM unnest($1::text[]) AS u`, [[...USERS, 'probe']]);
  await deleteKeysWithPrefix(bench.redis, PREFIX);
  // info: readiness and the catch-up figure are read from the worker's own lines.
  const env = { DATABASE_URL: url, REDIS_PREFIX: PREFIX, RESYNC_INTERVAL_MS: '600000', LOG_LEVEL: 'info' };
  const web = bench.startServer('web (scenario 7)', ['dist/web.js'], { ...env, PORT: String(SOURCES_WEB_PORT) });
  const webUrl = `http://127.0.0.1:${SOURCES_WEB_PORT}`;
  for (let i = 0; ; i += 1) {
    if (web.child.exitCode !== null) throw new Error(`scenario 7's web server exited:\n${web.output()}`);
    if (await fetch(`${webUrl}/healthz`).then(() => true, () => false)) break;
    if (i > 300) throw new Error('scenario 7: the web server did not answer');
    await sleep(200);
  }

  const wal = async () => (await pool!.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
  /** Waits until the slot has confirmed everything written so far; returns how long that took. */
  const drained = async (timeoutMs = 120_000): Promise<number> => {
    const target = await wal();
    const from = Date.now();
    while (Date.now() - from < timeoutMs) {
      const { rows } = await pool!.query<{ done: boolean | null }>('SELECT confirmed_flush_lsn >= $1::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $2', [target, slotName(url)]);
      if (!rows[0] || rows[0].done) return Date.now() - from;
      await sleep(20);
    }
    throw new Error('scenario 7: the logical worker did not catch up within 2 minutes');
  };

  const switchTo = async (kind: Kind): Promise<void> => {
    await worker?.stop();
    worker = null;
    if (kind === 'floor' || kind === 'unheard') {
      await pool!.query(`ALTER TABLE profiles ${kind === 'floor' ? 'DISABLE' : 'ENABLE'} TRIGGER profiles_notify`);
      return;
    }
    const next = bench.startServer(`worker (${kind})`, ['dist/worker.js'], { ...env, CHANGE_SOURCE: kind });
    worker = next;
    for (let i = 0; !/caught up with slot|resynced \d+ profiles/.test(next.output()); i += 1) {
      if (next.child.exitCode !== null || i > 600) throw new Error(`scenario 7's ${kind} worker did not start:\n${next.output()}`);
      await sleep(50);
    }
  };

  const pgbench = (args: string[]): { done: Promise<number>; stop: () => void } => {
    const child = spawn(path.join(bin, 'pgbench'), ['-n', '-h', '127.0.0.1', '-p', String(SOURCES_PG_PORT), '-U', 'postgres', '-f', script, ...args, DATABASE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const done = new Promise<number>((resolve, reject) =>
      child.once('exit', () => {
        const tps = /tps = ([\d.]+)/.exec(output);
        if (tps) resolve(Number(tps[1]));
        else reject(new Error(`pgbench failed:\n${output}`));
      }),
    );
    done.catch(() => undefined);
    return { done, stop: () => child.kill('SIGINT') };
  };

  // 1. Commits/s: each source in turn, every connection count, twice, so the
  // machine's other load falls on all three alike.
  const tps = new Map<string, number[]>();
  const cpu = { walsender: [] as number[], logicalWorker: [] as number[], notifyWorker: [] as number[], machine: new Map<Kind, number[]>(), web: new Map<Kind, number[]>(), redis: new Map<Kind, number[]>() };
  // Redis and the web process hear every change too: their share is part of what propagation costs.
  const redisPid = Number(/process_id:(\d+)/.exec(await bench.redis.info('server'))?.[1]) || null;
  const add = (map: Map<Kind, number[]>, kind: Kind, value: number) => map.set(kind, [...(map.get(kind) ?? []), value]);
  for (let round = 0; round < rounds; round += 1) {
    for (const kind of (['floor', 'unheard', 'notify', 'logical'] as const)) {
      await switchTo(kind);
      for (const clients of connections) {
        if (kind === 'logical') await drained();
        const walsender = kind === 'logical' ? (await pool.query<{ pid: number }>("SELECT pid FROM pg_stat_replication WHERE application_name = 'ripple-worker-replication'")).rows[0]?.pid : undefined;
        const workerPid = (worker as Server | null)?.child.pid;
        const before = { walsender: walsender ? cpuSeconds(walsender) : 0, worker: workerPid ? cpuSeconds(workerPid) : 0, web: cpuSeconds(web.child.pid!), redis: redisPid ? cpuSeconds(redisPid) : 0, machine: machineTicks() };
        const rate = await pgbench(['-c', String(clients), '-j', '2', '-T', String(sliceSeconds)]).done;
        const after = machineTicks();
        tps.set(`${kind}:${clients}`, [...(tps.get(`${kind}:${clients}`) ?? []), rate]);
        if (clients === connections.at(-1)) {
          const share = (seconds: number) => (seconds / sliceSeconds) * 100;
          if (kind === 'logical') {
            cpu.walsender.push(share(cpuSeconds(walsender!) - before.walsender));
            cpu.logicalWorker.push(share(cpuSeconds(workerPid!) - before.worker));
          }
          if (kind === 'notify') cpu.notifyWorker.push(share(cpuSeconds(workerPid!) - before.worker));
          add(cpu.machine, kind, ((after.busy - before.machine.busy) / (after.total - before.machine.total)) * 100);
          add(cpu.web, kind, share(cpuSeconds(web.child.pid!) - before.web));
          if (redisPid) add(cpu.redis, kind, share(cpuSeconds(redisPid) - before.redis));
        }
        bench.log(`scenario 7: ${kind}, ${clients} connections: ${rate.toFixed(0)} commits/s`);
      }
    }
  }
  const drainMs = await drained();

  // 2. Commit → frame, idle and under 1,000 commits/s of other writers.
  const latency = new Map<string, ReturnType<typeof summarize>>();
  const sent = new Map<string, ReturnType<typeof summarize>>();
  const missed: string[] = [];
  for (const kind of (['notify', 'logical'] as const)) {
    await switchTo(kind);
    for (const phase of ['idle', 'loaded'] as const) {
      const background = phase === 'loaded' ? pgbench(['-c', '8', '-j', '2', '-R', '1000', '-T', '600']) : null;
      if (background) await sleep(500);
      const loader = load(bench, `probe-${kind}-${phase}`);
      const result = await loader.run<{ commitToFrame: number[]; sendToFrame: number[]; missed: number }>({
        kind: 'commit-to-frame',
        params: { databaseUrl: url, baseUrl: webUrl, username: 'probe', samples: probes, gapMs: 5 },
      });
      await stopLoad(bench, loader);
      background?.stop();
      await background?.done.catch(() => undefined);
      latency.set(`${kind}:${phase}`, summarize(result.commitToFrame));
      sent.set(`${kind}:${phase}`, summarize(result.sendToFrame));
      if (result.missed) missed.push(`${kind} ${phase}: ${result.missed} frames missing`);
    }
  }

  // 3. Catch-up: the logical worker away for a while under 1,000 commits/s, then back.
  await switchTo('logical');
  await worker!.stop();
  worker = null;
  const away = pgbench(['-c', '8', '-j', '2', '-R', '1000', '-T', String(absenceSeconds)]);
  const awayRate = await away.done;
  const backlogBytes = Number((await pool.query<{ lag: string }>('SELECT pg_current_wal_lsn() - confirmed_flush_lsn AS lag FROM pg_replication_slots WHERE slot_name = $1', [slotName(url)])).rows[0].lag);
  await switchTo('logical');
  const caught = /caught up with slot \S+: (\d+) transactions in (\d+) ms/.exec((worker as Server | null)!.output());
  const catchUp = caught ? { transactions: Number(caught[1]), ms: Number(caught[2]) } : null;
  await worker!.stop();
  worker = null;
  const loader = load(bench, 'resync-sources');
  const resync = await loader.run<{ profiles: number; ms: number }>({ kind: 'resync', params: { databaseUrl: url, redisUrl: bench.redisUrl, prefix: PREFIX } });
  await stopLoad(bench, loader);

  // Not a leftover slot holding WAL: drop it before the database.
  await pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slotName(url)]);
  await pool.end();
  pool = undefined;
  await web.stop();
  await dropDatabase(url);
  await deleteKeysWithPrefix(bench.redis, PREFIX);

  const mean = (values: number[] | undefined) => (values?.length ? values.reduce((sum, value) => sum + value, 0) / values.length : NaN);
  const rows: Row[] = [];
  connections.forEach((clients, index) => {
    const [floor, unheard, notify, logical] = (['floor', 'unheard', 'notify', 'logical'] as const).map((kind) => mean(tps.get(`${kind}:${clients}`)));
    rows.push({
      scenario: index === 0 ? '7 change source' : '',
      measure: `direct writers (pgbench, single-row UPDATEs over 1000 profiles, no coalescing), ${clients} connections: commits/s`,
      result: `logical: ${logical.toFixed(0)}/s (${((logical / floor) * 100).toFixed(0)} % of the floor, ${(logical / notify).toFixed(2)}× notify)`,
      baseline: `no propagation: ${floor.toFixed(0)}/s · notify, worker listening: ${notify.toFixed(0)}/s (${((notify / floor) * 100).toFixed(0)} %) · notify trigger, nobody listening: ${unheard.toFixed(0)}/s (${((unheard / floor) * 100).toFixed(0)} %)`,
    });
  });
  const top = connections.at(-1)!;
  rows.push({
    scenario: '',
    measure: `CPU while ${top} connections write (share of one core; the machine has ${bench.cores})`,
    result: `logical: walsender ${mean(cpu.walsender).toFixed(0)} %, worker ${mean(cpu.logicalWorker).toFixed(0)} %, Redis ${mean(cpu.redis.get('logical')).toFixed(0)} %, web ${mean(cpu.web.get('logical')).toFixed(0)} %; machine ${mean(cpu.machine.get('logical')).toFixed(0)} % busy`,
    baseline: `notify: worker ${mean(cpu.notifyWorker).toFixed(0)} %, Redis ${mean(cpu.redis.get('notify')).toFixed(0)} %, web ${mean(cpu.web.get('notify')).toFixed(0)} %, machine ${mean(cpu.machine.get('notify')).toFixed(0)} % busy · floor: Redis ${mean(cpu.redis.get('floor')).toFixed(0)} %, web ${mean(cpu.web.get('floor')).toFixed(0)} %, machine ${mean(cpu.machine.get('floor')).toFixed(0)} % busy`,
  });
  for (const phase of ['idle', 'loaded'] as const) {
    rows.push({
      scenario: '',
      measure: `commit returned → SSE frame, p50/p99/max (${probes} sequential UPDATEs${phase === 'loaded' ? ', beside 1000 commits/s of other writers' : ', otherwise idle'})`,
      result: `logical: ${triple(latency.get(`logical:${phase}`)!)}`,
      baseline: `notify: ${triple(latency.get(`notify:${phase}`)!)}`,
    });
    rows.push({
      scenario: '',
      measure: `UPDATE sent → SSE frame, the same ${phase === 'loaded' ? 'loaded' : 'idle'} run`,
      result: `logical: ${triple(sent.get(`logical:${phase}`)!)}`,
      baseline: `notify: ${triple(sent.get(`notify:${phase}`)!)}`,
    });
  }
  rows.push({
    scenario: '',
    measure: `catch-up: the logical worker stopped for ${absenceSeconds} s while writers committed ${awayRate.toFixed(0)}/s, then started again (resumes from its slot)`,
    result: catchUp ? `${catchUp.transactions} commits (${(backlogBytes / 1e6).toFixed(1)} MB of WAL) in ${(catchUp.ms / 1000).toFixed(2)} s: ${((catchUp.transactions / catchUp.ms) * 1000).toFixed(0)} commits/s` : 'n/a',
    baseline: `full resync of the same ${resync.profiles} profiles: ${ms(resync.ms)} ms (${((resync.profiles / resync.ms) * 1000).toFixed(0)} profiles/s)`,
  });
  if (missed.length) rows.push({ scenario: '', measure: 'frames missing', result: missed.join('; '), baseline: '' });
  bench.rows.push(...rows);
  for (const [key, summary] of latency) bench.series.push({ label: `7 commit → frame, ${key.replace(':', ', ')}`, summary });
  bench.results.changeSources = {
    commitsPerSecond: Object.fromEntries(tps),
    cpu: { walsender: cpu.walsender, logicalWorker: cpu.logicalWorker, notifyWorker: cpu.notifyWorker, machine: Object.fromEntries(cpu.machine), web: Object.fromEntries(cpu.web), redis: Object.fromEntries(cpu.redis) },
    drainAfterThroughputMs: drainMs,
    latency: Object.fromEntries(latency),
    sendToFrame: Object.fromEntries(sent),
    catchUp: { ...catchUp, absenceSeconds, awayRate, backlogBytes },
    resync,
  };
}
