import { dropDatabase, ensureDatabase, migrate, seed } from '../../lib/migrate';
import { deleteKeys, testRedis } from './db';
import { TEST_DATABASE_URL } from './env';
import { startWeb, type Started } from './processes';

let web: Started | undefined;

// A fresh database and key space for every run, so the suite can run twice in a
// row, and one production web server shared by the integration tests.
export async function setup(): Promise<void> {
  await dropDatabase(TEST_DATABASE_URL);
  await ensureDatabase(TEST_DATABASE_URL);
  await migrate(TEST_DATABASE_URL);
  await seed(TEST_DATABASE_URL);
  const redis = testRedis();
  await deleteKeys(redis);
  redis.disconnect();
  web = await startWeb();
}

export async function teardown(): Promise<void> {
  await web?.stop();
  const redis = testRedis();
  await deleteKeys(redis);
  redis.disconnect();
  await dropDatabase(TEST_DATABASE_URL);
}
