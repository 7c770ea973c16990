import { dropDatabase, ensureDatabase, migrate, seed } from '../../lib/migrate';
import { localCluster, startLocalCluster } from '../../scripts/redis-cluster';
import { CLUSTER_BASE_PORT, CLUSTER_DATABASE_URL } from '../support/env';

// A fresh cluster and database for every run, so the suite can run twice in a
// row; a cluster left by a run that crashed is stopped first (startLocalCluster).
export async function setup(): Promise<void> {
  const started = Date.now();
  await startLocalCluster({ basePort: CLUSTER_BASE_PORT });
  console.log(`[cluster] six nodes from port ${CLUSTER_BASE_PORT} healthy in ${Date.now() - started} ms`);
  await dropDatabase(CLUSTER_DATABASE_URL);
  await ensureDatabase(CLUSTER_DATABASE_URL);
  await migrate(CLUSTER_DATABASE_URL);
  await seed(CLUSTER_DATABASE_URL);
}

export async function teardown(): Promise<void> {
  // By pid file, so a node a test restarted (a child of a test worker) stops too.
  await localCluster({ basePort: CLUSTER_BASE_PORT }).stop();
  await dropDatabase(CLUSTER_DATABASE_URL);
}
