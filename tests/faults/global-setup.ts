import { dropDatabase, ensureDatabase, migrate, seed } from '../../lib/migrate';
import { FAULTS_DATABASE_URL, FAULTS_LOGICAL_POSTGRES_PORT } from '../support/env';
import { privatePostgres } from './servers';

// One private cluster with wal_level=logical for the whole fault suite (both
// change sources); the PostgreSQL-restart test runs a cluster of its own.
const cluster = privatePostgres(FAULTS_LOGICAL_POSTGRES_PORT, { settings: ['wal_level=logical'] });

export async function setup(): Promise<void> {
  await cluster.start();
  await dropDatabase(FAULTS_DATABASE_URL);
  await ensureDatabase(FAULTS_DATABASE_URL);
  await migrate(FAULTS_DATABASE_URL);
  await seed(FAULTS_DATABASE_URL);
}

export async function teardown(): Promise<void> {
  await cluster.remove();
}
