import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

// Where Debian and Ubuntu put PostgreSQL's server binaries (they are not on
// PATH there), then the PATH itself, for Homebrew, Fedora and hand-made setups.
const POSTGRES_ROOTS = ['/usr/lib/postgresql', '/usr/local/lib/postgresql'];

function onPath(name: string, searchPath: string): string | null {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** The directory holding initdb and pg_ctl, newest major version first, or null. */
export function findPostgresBin({ roots = POSTGRES_ROOTS, searchPath = process.env.PATH ?? '' } = {}): string | null {
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const versions = readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = path.join(root, version, 'bin');
      if (existsSync(path.join(bin, 'initdb')) && existsSync(path.join(bin, 'pg_ctl'))) return bin;
    }
  }
  const initdb = onPath('initdb', searchPath);
  return initdb && onPath('pg_ctl', searchPath) ? path.dirname(initdb) : null;
}

export function findRedisServer({ searchPath = process.env.PATH ?? '' } = {}): string | null {
  return onPath('redis-server', searchPath) ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : null);
}

export const INSTALL_HELP = {
  postgres: [
    'PostgreSQL is not running at DATABASE_URL and no PostgreSQL binaries (initdb, pg_ctl) were found.',
    'Install them, then run `npm start` again:',
    '  Debian/Ubuntu:  sudo apt-get install -y postgresql',
    '  Fedora:         sudo dnf install -y postgresql-server',
    '  macOS:          brew install postgresql@16',
    'Or start the servers with Docker: `docker compose up -d`, or point DATABASE_URL at a running server.',
  ].join('\n'),
  redis: [
    'Redis is not running at REDIS_URL and no redis-server binary was found.',
    'Install it, then run `npm start` again:',
    '  Debian/Ubuntu:  sudo apt-get install -y redis-server',
    '  Fedora:         sudo dnf install -y redis',
    '  macOS:          brew install redis',
    'Or start the servers with Docker: `docker compose up -d`, or point REDIS_URL at a running server.',
  ].join('\n'),
};
