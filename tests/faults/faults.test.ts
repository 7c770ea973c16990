import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS_REDIS_PORT } from '../support/env';
import { waitFor } from '../support/processes';
import { listenBackendPid, pause, startSystem, WATCHED } from './fixture';
import { privateRedis } from './servers';

// Each fault is injected for real while a writer keeps POSTing; afterwards, with
// no manual step, Redis and an open stream must equal Postgres within 5 s.
// Both change sources run the faults that concern them. With CHANGE_SOURCE=logical
// the anti-entropy pass is slowed to a minute wherever the slot itself must
// recover (a worker killed, its walsender terminated, two workers): only the
// slot can then bring the missed changes in within 5 s.
describe.each(['notify', 'logical'] as const)('the cache converges after every fault (CHANGE_SOURCE=%s)', (source) => {
  const redisServer = privateRedis(FAULTS_REDIS_PORT);
  let system: Awaited<ReturnType<typeof startSystem>> | undefined;
  const report = (fault: string, ms: number) => console.log(`[faults] ${source}: ${fault}: Redis and the stream equal Postgres ${ms} ms after the writer stopped`);
  const slotOnly: Record<string, string> = source === 'logical' ? { RESYNC_INTERVAL_MS: '60000' } : {};
  // A silent LISTEN death and a web process's SIGTERM concern notify's connection or no source at all: run once.
  const notifyOnly = source === 'notify' ? it : ((() => undefined) as unknown as typeof it);

  beforeAll(() => redisServer.start());
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });
  afterAll(() => redisServer.stop());

  it('1. worker killed with SIGKILL mid-burst and restarted', async () => {
    system = await startSystem({ redisUrl: redisServer.url, source, env: slotOnly });
    await pause(800);
    await system.workers[0].kill();
    await pause(800);
    const restarted = await system.startWorker();
    report('worker SIGKILL', await system.expectConverged());
    if (source === 'logical') {
      // Resumed from the slot: what committed while it was dead came from there, not from re-reading the table.
      expect(restarted.output()).toMatch(/caught up with slot/);
      expect(restarted.output()).not.toMatch(/resynced \d+ profiles/);
    }
  });

  it(`2. the worker's ${source === 'logical' ? 'walsender' : 'LISTEN backend'} terminated: it reconnects and catches up`, async () => {
    system = await startSystem({ redisUrl: redisServer.url, source, env: slotOnly });
    await pause(500);
    const pid = await listenBackendPid(system.pool, undefined, source);
    await system.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await pause(800);
    const next = await listenBackendPid(system.pool, pid, source);
    expect(next).not.toBe(pid);
    report(`${source === 'logical' ? 'walsender' : 'LISTEN backend'} terminated`, await system.expectConverged());
    expect(system.workers[0].output()).toMatch(source === 'logical' ? /lost the replication connection/ : /lost the LISTEN connection/);
  });

  notifyOnly('3. a LISTEN connection that dies silently (backend SIGSTOPped) is noticed by the heartbeat', async () => {
    system = await startSystem({ redisUrl: redisServer.url });
    await pause(500);
    const pid = await listenBackendPid(system.pool);
    process.kill(pid, 'SIGSTOP');
    try {
      const noticed = Date.now();
      await waitFor(() => /no heartbeat answer/.test(system!.workers[0].output()), 'the heartbeat to notice', 10_000);
      console.log(`[faults] silent LISTEN death noticed after ${Date.now() - noticed} ms`);
      await listenBackendPid(system.pool, pid);
      report('silent LISTEN death', await system.expectConverged());
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('4. Redis FLUSHALL mid-burst: reads fall back to Postgres, anti-entropy restores every key', async () => {
    system = await startSystem({ redisUrl: redisServer.url, source });
    await pause(500);
    await system.redis.flushall();
    const read = await fetch(`http://127.0.0.1:${[...system.webs.keys()][0]}/v1/profile/${WATCHED[0]}`);
    expect(read.status).toBe(200);
    await pause(800);
    report('Redis FLUSHALL', await system.expectConverged());
  });

  it('5. Redis restarted: worker and web subscriber reconnect, open streams get a fresh snapshot', async () => {
    system = await startSystem({ redisUrl: redisServer.url, source });
    await pause(500);
    await redisServer.stop();
    await pause(1_000);
    await redisServer.start();
    const web = [...system.webs.values()][0];
    await waitFor(() => /sending fresh snapshots/.test(web.output()), 'the web subscriber to resubscribe and resend snapshots', 10_000);
    report('Redis restart', await system.expectConverged());
  });

  it('7. two workers at once, one killed at random: nothing doubled, nothing lost', async () => {
    system = await startSystem({ redisUrl: redisServer.url, workers: 2, source, env: slotOnly });
    await pause(300 + Math.random() * 1_000);
    await system.workers[Math.floor(Math.random() * 2)].kill();
    await pause(800);
    report('one of two workers SIGKILL', await system.expectConverged());
  });

  if (source === 'logical') {
    it('7b. two workers share one slot: one streams, the other waits and takes over when the first is SIGKILLed', async () => {
      system = await startSystem({ redisUrl: redisServer.url, workers: 2, source, env: slotOnly });
      const streaming = await waitFor(() => system!.workers.find((worker) => /streaming changes from slot/.test(worker.output())), 'one worker to stream');
      const standby = system.workers.find((worker) => worker !== streaming)!;
      await waitFor(() => /this one waits and takes over/.test(standby.output()), 'the other worker to wait');
      const { rows: before } = await system.pool.query<{ pid: number }>("SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name LIKE 'ripple_%' AND database = current_database()");
      await pause(300);
      await streaming.kill();
      const tookOver = Date.now();
      await waitFor(() => /streaming changes from slot/.test(standby.output()), 'the standby to take over the slot', 5_000);
      console.log(`[faults] logical: standby took over the slot ${Date.now() - tookOver} ms after SIGKILL`);
      const { rows: after } = await system.pool.query<{ pid: number }>("SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name LIKE 'ripple_%' AND database = current_database()");
      expect(after[0].pid).not.toBe(before[0].pid);
      report('streaming worker SIGKILL, standby takes over', await system.expectConverged());
    });
  }

  notifyOnly('8. web process SIGTERM: streams close cleanly, clients reconnect to the other process and get a snapshot', async () => {
    system = await startSystem({ redisUrl: redisServer.url, webs: 2 });
    await pause(500);
    const connectionsBefore = system.watcher.connections.length;
    const [first] = [...system.webs.values()];
    const exitCode = await first.stop();
    expect(exitCode).toBe(143);
    expect(first.output()).toMatch(/closed \d+ open streams/);
    await waitFor(() => system!.watcher.connections.length > connectionsBefore, 'the watcher to reconnect');
    expect(system.watcher.cleanEnds.length).toBeGreaterThan(0);
    const reconnected = system.watcher.connections.at(-1)!;
    await waitFor(() => WATCHED.every((u) => reconnected.some((p) => p.username === u)), 'a snapshot on the new connection');
    report('web SIGTERM', await system.expectConverged());
  });

  it('9. a stale cache write (v delayed until v+1 landed) changes nothing and is never published', async () => {
    system = await startSystem({ redisUrl: redisServer.url, source, env: slotOnly });
    await system.writer.stop();
    const username = WATCHED[0];
    const { rows } = await system.pool.query('SELECT profile_json(p) AS profile FROM profiles p WHERE username = $1', [username]);
    const older = rows[0].profile;
    await system.pool.query('UPDATE profiles SET likes = likes + 1 WHERE username = $1', [username]);
    const newer = await waitFor(async () => {
      const cached = await system!.cache.get(username);
      return cached && cached.version === older.version + 1 && cached;
    }, 'v+1 in the cache');
    await waitFor(() => system!.watcher.latest.get(username)?.version === newer.version, 'v+1 on the stream');

    expect(await system.cache.put(older, (await system.cache.readEpoch())!.generation)).toBe(false);
    expect(await system.cache.get(username)).toEqual(newer);
    await pause(300);
    const frames = system.watcher.connections.flat().filter((p) => p.username === username);
    expect(frames.filter((p) => p.version === newer.version)).toHaveLength(1);
    expect(frames.at(-1)?.version).toBe(newer.version);
    report('stale write', await system.expectConverged());
  });
});
