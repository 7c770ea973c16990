import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS_REDIS_PORT } from '../support/env';
import { waitFor } from '../support/processes';
import { listenBackendPid, pause, startSystem, WATCHED } from './fixture';
import { privateRedis } from './servers';

// Each fault is injected for real while a writer keeps POSTing; afterwards, with
// no manual step, Redis and an open stream must equal Postgres within 5 s.
describe('the cache converges after every fault', () => {
  const redisServer = privateRedis(FAULTS_REDIS_PORT);
  let system: Awaited<ReturnType<typeof startSystem>> | undefined;
  const report = (fault: string, ms: number) => console.log(`[faults] ${fault}: Redis and the stream equal Postgres ${ms} ms after the writer stopped`);

  beforeAll(() => redisServer.start());
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });
  afterAll(() => redisServer.stop());

  it('1. worker killed with SIGKILL mid-burst and restarted', async () => {
    system = await startSystem({ redisUrl: redisServer.url });
    await pause(800);
    await system.workers[0].kill();
    await pause(800);
    await system.startWorker();
    report('worker SIGKILL', await system.expectConverged());
  });

  it("2. the worker's LISTEN backend terminated: it reconnects, LISTENs, resyncs", async () => {
    system = await startSystem({ redisUrl: redisServer.url });
    await pause(500);
    const pid = await listenBackendPid(system.pool);
    await system.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await pause(800);
    const next = await listenBackendPid(system.pool);
    expect(next).not.toBe(pid);
    report('LISTEN backend terminated', await system.expectConverged());
    expect(system.workers[0].output()).toMatch(/lost the LISTEN connection/);
  });

  it('3. a LISTEN connection that dies silently (backend SIGSTOPped) is noticed by the heartbeat', async () => {
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
    system = await startSystem({ redisUrl: redisServer.url });
    await pause(500);
    await system.redis.flushall();
    const read = await fetch(`http://127.0.0.1:${[...system.webs.keys()][0]}/v1/profile/${WATCHED[0]}`);
    expect(read.status).toBe(200);
    await pause(800);
    report('Redis FLUSHALL', await system.expectConverged());
  });

  it('5. Redis restarted: worker and web subscriber reconnect, open streams get a fresh snapshot', async () => {
    system = await startSystem({ redisUrl: redisServer.url });
    await pause(500);
    await redisServer.stop();
    await pause(1_000);
    await redisServer.start();
    const web = [...system.webs.values()][0];
    await waitFor(() => /sending fresh snapshots/.test(web.output()), 'the web subscriber to resubscribe and resend snapshots', 10_000);
    report('Redis restart', await system.expectConverged());
  });

  it('7. two workers at once, one killed at random: nothing doubled, nothing lost', async () => {
    system = await startSystem({ redisUrl: redisServer.url, workers: 2 });
    await pause(300 + Math.random() * 1_000);
    await system.workers[Math.floor(Math.random() * 2)].kill();
    await pause(800);
    report('one of two workers SIGKILL', await system.expectConverged());
  });

  it('8. web process SIGTERM: streams close cleanly, clients reconnect to the other process and get a snapshot', async () => {
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
    system = await startSystem({ redisUrl: redisServer.url });
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
