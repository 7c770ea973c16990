import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { parseRedisUrl } from '../lib/redis-url';
import { findPostgresBin, findRedisServer, INSTALL_HELP } from './find-binaries';
import { isLocal, reachable, waitUntilReachable } from './reachable';

export type LocalServer = { name: string; stop: () => Promise<void> };
type Log = (line: string) => void;

export class SetupError extends Error {
  override name = 'SetupError';
}

const portOf = (url: URL, fallback: number) => Number(url.port || fallback);

// PostgreSQL refuses to run as root, so as root it runs as the `postgres`
// user (which every Debian/Ubuntu package creates) with a data dir it owns.
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

function run(command: string, args: string[], what: string): string {
  const [cmd, argv] = asPostgresUser(command, args);
  const result = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (result.status !== 0) throw new SetupError(`${what} failed:\n${(result.stderr || result.stdout || result.error?.message || '').trim()}`);
  return result.stdout;
}

function ownedByPostgres(dir: string): void {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() !== 0) return;
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) {
    throw new SetupError('PostgreSQL will not run as root and there is no `postgres` user: run `npm start` as a normal user, or create one with `sudo adduser --system --group postgres`.');
  }
  chownSync(dir, Number(id.stdout), Number(gid.stdout));
  // A checkout under a private home (/root is 0700) is out of the postgres user's reach.
  if (spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-w', dir]).status !== 0) {
    throw new SetupError(
      `The postgres user cannot write ${dir} (a parent directory is private to root). ` +
        'Point LOCAL_DATA_DIR at a directory it can reach, e.g. `LOCAL_DATA_DIR=/var/tmp/ripple-data npm start`.',
    );
  }
}

async function startPostgres(url: URL, dataDir: string, log: Log): Promise<LocalServer> {
  const bin = findPostgresBin();
  if (!bin) throw new SetupError(INSTALL_HELP.postgres);
  const dir = path.join(dataDir, 'postgres');
  ownedByPostgres(dir);
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    log(`local servers: creating a PostgreSQL cluster in ${dir} (${bin})`);
    const user = decodeURIComponent(url.username) || 'postgres';
    // trust: this cluster listens on loopback only and exists for the demo.
    run(path.join(bin, 'initdb'), ['-D', dir, '-U', user, '--auth=trust', '--encoding=UTF8'], 'initdb');
  }
  const port = portOf(url, 5432);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // No Unix socket: its default directory may not exist or be writable here; TCP is all Ripple uses.
  // wal_level=logical so CHANGE_SOURCE=logical works here as is (a cluster made
  // by an earlier version gets it too, since it is set on every start).
  const options = `-p ${port} -c listen_addresses=${host} -c unix_socket_directories='' -c wal_level=logical`;
  run(path.join(bin, 'pg_ctl'), ['-D', dir, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start'], `pg_ctl start (log: ${dir}/server.log)`);
  log(`local servers: PostgreSQL started on ${host}:${port} (data in ${dir})`);
  return {
    name: 'PostgreSQL',
    stop: async () => {
      run(path.join(bin, 'pg_ctl'), ['-D', dir, '-m', 'fast', '-w', 'stop'], 'pg_ctl stop');
      log('local servers: PostgreSQL stopped');
    },
  };
}

async function startRedis(url: URL, dataDir: string, log: Log): Promise<LocalServer> {
  const server = findRedisServer();
  if (!server) throw new SetupError(INSTALL_HELP.redis);
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = portOf(url, 6379);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const logFile = openSync(path.join(dir, 'server.log'), 'a');
  // Its own process group: Ctrl-C reaches the web server and the worker first,
  // and Redis is stopped only after they are gone. No persistence: the cache
  // refills from Postgres on start, which is the point of the design.
  const child = spawn(server, ['--port', String(port), '--bind', host, '--dir', dir, '--save', '', '--appendonly', 'no'], {
    detached: true,
    stdio: ['ignore', logFile, logFile],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (!(await waitUntilReachable(host, port, 10_000))) {
    child.kill('SIGKILL');
    throw new SetupError(`redis-server did not start on ${host}:${port}; see ${dir}/server.log`);
  }
  log(`local servers: Redis started on ${host}:${port}`);
  return {
    name: 'Redis',
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      log('local servers: Redis stopped');
    },
  };
}

/**
 * Starts project-local PostgreSQL and Redis servers for the URLs that nothing
 * answers, but only when they point at this machine: a remote server is the
 * user's to run. Returns what it started, to stop on exit.
 */
export async function ensureLocalServers({ databaseUrl, redisUrl, dataDir, log = console.log }: { databaseUrl: string; redisUrl: string; dataDir: string; log?: Log }): Promise<LocalServer[]> {
  const started: LocalServer[] = [];
  const redis = parseRedisUrl(redisUrl);
  if (redis.cluster) {
    // A cluster is never started for you: one seed that answers is enough to find the rest.
    const answering = await Promise.all(redis.nodes.map((node) => reachable(node.host, node.port)));
    if (!answering.some(Boolean)) {
      const seeds = redis.nodes.map((node) => `${node.host}:${node.port}`).join(', ');
      throw new SetupError(`no node of the Redis Cluster in REDIS_URL answers (${seeds}). Start it (a local one: npm run redis:cluster -- start), or fix REDIS_URL.`);
    }
  }
  const targets: Array<[URL, number, 'PostgreSQL' | 'Redis', string]> = [
    [new URL(databaseUrl), 5432, 'PostgreSQL', 'DATABASE_URL'],
    ...(redis.cluster ? [] : [[new URL(redisUrl), 6379, 'Redis', 'REDIS_URL'] as [URL, number, 'Redis', string]]),
  ];
  try {
    for (const [url, fallback, name, variable] of targets) {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (await reachable(host, portOf(url, fallback))) continue;
      if (!isLocal(url)) throw new SetupError(`${name} at ${url.host} (${variable}) does not answer, and it is not on this machine, so Ripple will not start one. Start it, or fix ${variable}.`);
      log(`local servers: nothing answers at ${url.host} (${variable}); starting a project-local ${name}`);
      started.push(await (name === 'PostgreSQL' ? startPostgres(url, dataDir, log) : startRedis(url, dataDir, log)));
    }
  } catch (error) {
    await stopLocalServers(started);
    throw error;
  }
  return started;
}

export async function stopLocalServers(servers: LocalServer[]): Promise<void> {
  for (const server of [...servers].reverse()) await server.stop().catch((error: Error) => console.error(`could not stop ${server.name}: ${error.message}`));
}
