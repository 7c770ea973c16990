import { dropDatabase, ensureDatabase, migrate, seed } from '../../lib/migrate';
import { FAULTS_DATABASE_URL } from '../support/env';

export async function setup(): Promise<void> {
  await dropDatabase(FAULTS_DATABASE_URL);
  await ensureDatabase(FAULTS_DATABASE_URL);
  await migrate(FAULTS_DATABASE_URL);
  await seed(FAULTS_DATABASE_URL);
}

export async function teardown(): Promise<void> {
  await dropDatabase(FAULTS_DATABASE_URL);
}
