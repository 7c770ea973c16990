// Run by Playwright's webServer command before the app starts: a fresh e2e
// database and key space on every run, so the suite can run twice in a row.
import { Redis } from 'ioredis';
import { getConfig } from '../../lib/config';
import { dropDatabase, ensureDatabase, migrate, seed } from '../../lib/migrate';
import { deleteKeys } from '../support/db';

const { DATABASE_URL, REDIS_URL, REDIS_PREFIX } = getConfig();
await dropDatabase(DATABASE_URL);
await ensureDatabase(DATABASE_URL);
await migrate(DATABASE_URL);
await seed(DATABASE_URL);
const redis = new Redis(REDIS_URL);
await deleteKeys(redis, REDIS_PREFIX);
redis.disconnect();
