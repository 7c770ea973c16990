import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { dropDatabase } from '@/lib/migrate';
import type { Profile } from '@/lib/profile';
import { LIVE_DATABASE_URL } from '../support/env';
import { openStream } from '../support/http';
import { waitFor } from '../support/processes';
import { recreateDatabase, startPrivateSystem, type PrivateSystem } from '../support/private-system';
import { shown } from '../support/stream-client';

// Resets that move versions backwards. Each runs with an open stream and
// must end, in Redis, in GET and on the stream, on Postgres' values: within
// 5 s, or for a reset that only the periodic resync can notice, within one
// resync interval (RESYNC_INTERVAL_MS) and 5 s.
const NAMES = ['alice', 'bob', 'carol'];
const QUERY = `/stream?${NAMES.map((name) => `u=${name}`).join('&')}`;

async function converged(system: PrivateSystem, stream: ReturnType<typeof openStream>): Promise<boolean> {
  const database = await system.dbProfiles(NAMES);
  const view = shown(stream.events);
  const cached = await system.cache.getMany(NAMES);
  for (const name of NAMES) {
    const expected = JSON.stringify(database.get(name));
    if (JSON.stringify(view.profiles.get(name)) !== expected) return false;
    if (JSON.stringify(cached.get(name)) !== expected) return false;
    const read = await system.get(`/v1/profile/${name}`);
    if (JSON.stringify(read.body) !== expected) return false;
  }
  return true;
}

async function raiseVersions(system: PrivateSystem, times: number): Promise<void> {
  for (let i = 0; i < times; i += 1) await system.pool.query('UPDATE profiles SET likes = likes + 1 WHERE username = ANY($1::text[])', [NAMES]);
}

function pgBin(name: string): string {
  const version = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))[0];
  return path.join('/usr/lib/postgresql', version, 'bin', name);
}

describe('resets that move versions backwards: the cache and every open stream start over from Postgres', () => {
  let system: PrivateSystem | undefined;
  let stream: ReturnType<typeof openStream> | undefined;

  afterEach(async () => {
    await stream?.close();
    stream = undefined;
    await system?.stop();
    system = undefined;
  });
  afterAll(() => dropDatabase(LIVE_DATABASE_URL));

  async function openAndSettle(withinMs = 5_000) {
    system = await startPrivateSystem();
    await raiseVersions(system, 3);
    stream = openStream(`${system.url}${QUERY}`);
    await waitFor(() => converged(system!, stream!), 'the stream, GET and the cache to equal Postgres before the reset', withinMs);
    const before = shown(stream.events).epoch;
    expect(before).toMatch(/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/);
    return { before: before!, versions: (await system.dbProfiles(NAMES)).get('alice')!.version };
  }

  it('TRUNCATE, then the rows inserted again at lower versions', async () => {
    const { before, versions } = await openAndSettle();
    expect(versions).toBeGreaterThanOrEqual(4);
    await system!.pool.query('TRUNCATE profiles');
    await system!.pool.query(`INSERT INTO profiles (username, display_name, likes) VALUES ('alice', 'Alice again', 1), ('bob', 'Bob again', 2), ('carol', 'Carol again', 3)`);
    expect((await system!.dbProfiles(['alice'])).get('alice')!.version).toBe(1);
    const started = Date.now();
    await waitFor(() => converged(system!, stream!), 'everything to equal Postgres after TRUNCATE', 5_000);
    console.log(`[epoch] TRUNCATE: converged in ${Date.now() - started} ms`);
    const view = shown(stream!.events);
    expect(view.epoch).not.toBe(before);
    expect(stream!.ended()).toBe(false);
  });

  it('two workers: one of them moves the cache to the new epoch, both write under it, nothing older shows', async () => {
    const { before } = await openAndSettle();
    const second = await system!.startWorker();
    const first = system!.workers[0];
    const already = [first.output().length, second.output().length];
    await system!.pool.query('TRUNCATE profiles');
    await system!.pool.query(`INSERT INTO profiles (username, display_name, likes) VALUES ('alice', 'Alice again', 1), ('bob', 'Bob again', 2), ('carol', 'Carol again', 3)`);
    // Live changes right after, which both workers apply.
    for (let i = 0; i < 5; i += 1) await system!.pool.query("UPDATE profiles SET likes = likes + 1 WHERE username = 'bob'");
    await waitFor(() => converged(system!, stream!), 'everything to equal Postgres after TRUNCATE', 5_000);
    expect(shown(stream!.events).epoch).not.toBe(before);
    const outputs = [first.output().slice(already[0]), second.output().slice(already[1])];
    expect(outputs.filter((output) => /emptying its profiles/.test(output))).toHaveLength(1);
    // Versions on the stream rose within each epoch.
    let epoch = 0;
    const seen = new Map<string, number>();
    for (const { event, data } of stream!.events) {
      if (event === 'epoch') {
        epoch += 1;
        seen.clear();
      } else if (event === 'profile') {
        const { username, version } = JSON.parse(data) as Profile;
        expect(version, `${username} in epoch ${epoch}`).toBeGreaterThan(seen.get(username) ?? 0);
        seen.set(username, version);
      }
    }
  });

  it('the database dropped and created again while the worker and the stream run', async () => {
    const { before } = await openAndSettle();
    const worker = system!.workers[0];
    const listened = () => worker.output().match(/listening for profile changes/g)?.length ?? 0;
    const connects = listened();
    await recreateDatabase(LIVE_DATABASE_URL);
    await system!.pool.query("UPDATE profiles SET likes = 777 WHERE username = 'alice'");
    // The worker reconnects with backoff (at most 10 s between attempts); the bound starts there.
    await waitFor(() => listened() > connects, 'the worker to reconnect', 15_000);
    const started = Date.now();
    await waitFor(() => converged(system!, stream!), 'everything to equal the new database', 5_000);
    console.log(`[epoch] database re-created: converged in ${Date.now() - started} ms`);
    expect(shown(stream!.events).epoch).not.toBe(before);
    expect(shown(stream!.events).profiles.get('alice')).toMatchObject({ likes: 777, version: 2 });
  });

  it('a restore by hand: a row set back to a lower version with the triggers off (no notification at all)', async () => {
    const { before, versions } = await openAndSettle();
    // Only the periodic resync can notice this one.
    await system!.workers[0].stop();
    system!.workers.length = 0;
    await system!.startWorker({ RESYNC_INTERVAL_MS: '2000' });
    await system!.pool.query(`BEGIN;
      ALTER TABLE profiles DISABLE TRIGGER USER;
      UPDATE profiles SET version = 2, likes = 4242 WHERE username = 'alice';
      ALTER TABLE profiles ENABLE TRIGGER USER;
      COMMIT;`);
    const alice = (await system!.dbProfiles(['alice'])).get('alice') as Profile;
    expect(alice.version).toBeLessThan(versions);
    const started = Date.now();
    await waitFor(() => converged(system!, stream!), 'everything to equal the restored row', 2_000 + 5_000);
    console.log(`[epoch] restore by hand: converged in ${Date.now() - started} ms`);
    expect(shown(stream!.events).epoch).not.toBe(before);
    expect(shown(stream!.events).profiles.get('alice')).toEqual(alice);
  });

  it('pg_restore --clean of an earlier dump', async () => {
    const { before } = await openAndSettle();
    await system!.workers[0].stop();
    system!.workers.length = 0;
    await system!.startWorker({ RESYNC_INTERVAL_MS: '2000' });
    const dir = mkdtempSync(path.join(tmpdir(), 'ripple-dump-'));
    const dump = path.join(dir, 'earlier.dump');
    try {
      const dumped = spawnSync(pgBin('pg_dump'), ['-Fc', '-f', dump, LIVE_DATABASE_URL], { encoding: 'utf8' });
      expect(dumped.status, dumped.stderr).toBe(0);
      await raiseVersions(system!, 3);
      await waitFor(() => converged(system!, stream!), 'the later versions everywhere', 5_000);
      const restored = spawnSync(pgBin('pg_restore'), ['--clean', '--if-exists', '--single-transaction', '-d', LIVE_DATABASE_URL, dump], { encoding: 'utf8' });
      expect(restored.status, restored.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const started = Date.now();
    await waitFor(() => converged(system!, stream!), 'everything to equal the restored dump', 2_000 + 5_000);
    console.log(`[epoch] pg_restore: converged in ${Date.now() - started} ms`);
    expect(shown(stream!.events).epoch).not.toBe(before);
  });
});
