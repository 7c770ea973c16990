import { Redis } from 'ioredis';
import { dropDatabase } from '../../lib/migrate';
import { deleteKeys } from '../support/db';
import { E2E_DATABASE_URL, E2E_REDIS_PREFIX } from '../support/env';

// Leaves nothing behind: the e2e database and every key under the e2e prefix.
export default async function globalTeardown(): Promise<void> {
  const redis = new Redis('redis://127.0.0.1:6379');
  await deleteKeys(redis, E2E_REDIS_PREFIX);
  redis.disconnect();
  await dropDatabase(E2E_DATABASE_URL);
}
