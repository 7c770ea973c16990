// `npm run db:setup`: create the database if needed, migrate, seed. Safe to run
// any number of times: migrations are recorded and the seed never overwrites.
import pg from 'pg';
import { assertLogicalReady } from '../lib/change-source';
import { getConfig } from '../lib/config';
import { ensureDatabase, migrate, seed } from '../lib/migrate';

async function main(): Promise<void> {
  const { DATABASE_URL, CHANGE_SOURCE } = getConfig();
  const where = new URL(DATABASE_URL);
  const label = `${where.host}${where.pathname}`;
  try {
    if (await ensureDatabase(DATABASE_URL)) console.log(`db: created database ${label}`);
  } catch (error) {
    throw new Error(
      `cannot use PostgreSQL at ${where.host} (${(error as Error).message}). ` +
        '`npm start` and `npm run dev` start a project-local server by themselves when DATABASE_URL is on localhost; ' +
        'otherwise start yours (e.g. `sudo pg_ctlcluster 15 main start`) or point DATABASE_URL at a running server.',
    );
  }
  const ran = await migrate(DATABASE_URL);
  console.log(ran.length ? `db: applied ${ran.join(', ')}` : `db: ${label} is up to date`);
  const inserted = await seed(DATABASE_URL);
  console.log(inserted ? `db: seeded ${inserted} demo profiles` : 'db: demo profiles already present');
  if (CHANGE_SOURCE === 'logical') {
    // Said here, once, before any server starts; the worker switches the database over itself.
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await assertLogicalReady(client, DATABASE_URL);
    } finally {
      await client.end();
    }
    console.log('db: ready for CHANGE_SOURCE=logical (wal_level=logical)');
  }
}

main().catch((error) => {
  console.error(`db setup failed: ${(error as Error).message}`);
  process.exit(1);
});
