import path from 'node:path';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { runner } from 'node-pg-migrate';

// node-pg-migrate: plain numbered SQL files, each run in a transaction under an
// advisory lock and recorded in a table, so concurrent starts are safe.
const migrationsDir = path.join(process.cwd(), 'db', 'migrations');
const seedFile = path.join(process.cwd(), 'db', 'seed.sql');

function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new Error(`DATABASE_URL names the database "${name}"; use letters, digits and _ only.`);
  }
  return name;
}

function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

async function withClient<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the database named by the URL when it is missing; returns whether it did. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  return withClient(maintenanceUrl(databaseUrl), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (error) {
      // Another process created it between our check and our CREATE.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
    return true;
  });
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  await withClient(maintenanceUrl(databaseUrl), (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Applies pending migrations; returns the names of those it ran. */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const ran = await runner({
    databaseUrl,
    dir: migrationsDir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    singleTransaction: false,
    log: () => undefined,
  });
  return ran.map((migration) => migration.name);
}

/** Inserts the demo profiles that are missing; returns how many it inserted. */
export async function seed(databaseUrl: string): Promise<number> {
  const sql = await readFile(seedFile, 'utf8');
  return withClient(databaseUrl, async (client) => (await client.query(sql)).rowCount ?? 0);
}
