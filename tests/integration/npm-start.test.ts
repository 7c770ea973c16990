import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reachable } from '@/scripts/reachable';
import { LOCAL_PG_PORT, LOCAL_REDIS_PORT, TEST_WEB_PORT } from '../support/env';
import { GaveUp, waitFor } from '../support/processes';

// The README's first command, for real, where nothing runs at its URLs: other
// ports than the local-servers test, so the two never meet.
const pgPort = LOCAL_PG_PORT + 1;
const redisPort = LOCAL_REDIS_PORT + 1;
const webPort = TEST_WEB_PORT + 7;
const dataDir = path.resolve('.data', `test-npm-start-${pgPort}`);

describe('npm start on a machine where PostgreSQL and Redis are installed but not running', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts them, serves the app with a worker, and stops everything on Ctrl-C', async () => {
    rmSync(dataDir, { recursive: true, force: true });
    // Through npm, as README says: npm passes the terminal's Ctrl-C on to its child as well.
    const child = spawn('npm', ['start'], {
      // Its own process group, so the test can send Ctrl-C to all of it as a terminal does.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/ripple`,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        REDIS_PREFIX: 'ripple-npm-start-test:',
        PORT: String(webPort),
        LOCAL_DATA_DIR: dataDir,
        SKIP_BUILD: '1',
        WORKER_METRICS_PORT: '0',
        LOG_FORMAT: 'json',
        // Info: the worker's "stopped cleanly" shows whether Ctrl-C was taken as one request.
        LOG_LEVEL: 'info',
      },
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const health = await waitFor(async () => {
        if (child.exitCode !== null) throw new GaveUp(`npm start exited: ${output}`);
        const response = await fetch(`http://127.0.0.1:${webPort}/healthz`);
        return response.status === 200 && ((await response.json()) as { status: string });
      }, 'the app to be healthy', 45_000);
      expect(health.status).toBe('ok');
      expect(output).toContain('starting a project-local PostgreSQL');
      expect(output).toContain('starting a project-local Redis');
      expect(output).toContain('seeded 10 demo profiles');
    } finally {
      // Still running (a failure above): Ctrl-C it; already gone: its output is in the error.
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT');
      await exited;
    }
    expect(output).toContain('PostgreSQL stopped');
    // One Ctrl-C reaches each process twice (from the terminal and from concurrently): still one clean stop.
    expect(output).toContain('worker: stopped cleanly');
    expect(output).not.toMatch(/second SIGINT/);
    expect(await reachable('127.0.0.1', pgPort)).toBe(false);
    expect(await reachable('127.0.0.1', redisPort)).toBe(false);
    expect(await reachable('127.0.0.1', webPort)).toBe(false);
  });
});
