// The integration suite's own database, key prefix and ports: never the demo's,
// so a test run and `npm start` on one machine do not touch each other.
// RIPPLE_TEST_ID and RIPPLE_TEST_PORT_OFFSET let two checkouts test side by side.
const id = (process.env.RIPPLE_TEST_ID ?? '').replace(/[^a-z0-9_]/g, '');
const offset = Number(process.env.RIPPLE_TEST_PORT_OFFSET ?? 0);
const suffix = id ? `_${id}` : '';

export const TEST_DATABASE_URL = `postgres://postgres@127.0.0.1:5432/ripple_test_integration${suffix}`;
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';
export const TEST_REDIS_PREFIX = `ripple-test-integration${suffix}:`;
export const TEST_WEB_PORT = 3111 + offset;
export const TEST_WEB_URL = `http://127.0.0.1:${TEST_WEB_PORT}`;
export const TEST_LIMITED_WEB_PORT = 3112 + offset;

export const E2E_DATABASE_URL = `postgres://postgres@127.0.0.1:5432/ripple_test_e2e${suffix}`;
export const E2E_REDIS_PREFIX = `ripple-test-e2e${suffix}:`;
export const E2E_WEB_PORT = 3122 + offset;
// Worker /metrics ports for the tests that ask for one (testEnv turns them off otherwise).
export const TEST_WORKER_METRICS_PORT = 9470 + offset;
// Free ports for the project-local servers that the setup test starts (never 5432 or 6379).
export const LOCAL_PG_PORT = 15432 + offset;
export const LOCAL_REDIS_PORT = 16379 + offset;

// Tests that reset, drop or restore a database, or stop a worker for good, use
// a database, key prefix and web server of their own, so the suite's shared
// ones never see it.
export const LIVE_DATABASE_URL = `postgres://postgres@127.0.0.1:5432/ripple_test_live${suffix}`;
export const LIVE_REDIS_PREFIX = `ripple-test-live${suffix}:`;
export const LIVE_WEB_PORT = 3113 + offset;
// A private PostgreSQL cluster with pg_stat_statements, to count what reaches it.
export const LIVE_POSTGRES_PORT = 5512 + offset;
// A private Redis and a proxy in front of it, for the live hub's fault tests.
export const LIVE_REDIS_PORT = 6413 + offset;
export const LIVE_PROXY_PORT = 6414 + offset;

// The fault suite runs both change sources, so its database lives on a private
// cluster with wal_level=logical (started by its global setup): the machine's
// PostgreSQL on 5432 is never reconfigured.
export const FAULTS_LOGICAL_POSTGRES_PORT = 5513 + offset;
export const FAULTS_DATABASE_URL = `postgres://postgres@127.0.0.1:${FAULTS_LOGICAL_POSTGRES_PORT}/ripple_test_faults${suffix}`;
// The replication slot's own faults: another database on that cluster, and a private Redis it may pause.
export const FAULTS_SLOT_DATABASE_URL = `postgres://postgres@127.0.0.1:${FAULTS_LOGICAL_POSTGRES_PORT}/ripple_test_slot${suffix}`;
export const FAULTS_SLOT_REDIS_PORT = 6415 + offset;
// A private cluster started with wal_level=replica, then logical, for the change-source setup tests.
export const CHANGE_SOURCE_POSTGRES_PORT = 5514 + offset;
export const FAULTS_REDIS_PREFIX = `ripple-test-faults${suffix}:`;
export const FAULTS_REDIS_PORT = 6411 + offset;
export const FAULTS_POSTGRES_PORT = 5511 + offset;
export const FAULTS_WEB_PORTS = [3133 + offset, 3134 + offset] as const;

// The Redis Cluster suite (tests/cluster): six nodes of its own from CLUSTER_BASE_PORT
// (cluster bus ports 10000 higher), clear of the 7101 that `npm run redis:cluster`
// starts by default, so a developer's cluster and a test run live side by side.
export const CLUSTER_BASE_PORT = 7111 + offset;
export const CLUSTER_PORTS = Array.from({ length: 6 }, (_, i) => CLUSTER_BASE_PORT + i);
export const CLUSTER_REDIS_URL = `redis-cluster://${CLUSTER_PORTS.map((port) => `127.0.0.1:${port}`).join(',')}`;
export const CLUSTER_DATABASE_URL = `postgres://postgres@127.0.0.1:5432/ripple_test_cluster${suffix}`;
export const CLUSTER_REDIS_PREFIX = `ripple-test-cluster${suffix}:`;
export const CLUSTER_WEB_PORTS = [3141 + offset, 3142 + offset] as const;

export const testEnv = {
  DATABASE_URL: TEST_DATABASE_URL,
  REDIS_URL: TEST_REDIS_URL,
  REDIS_PREFIX: TEST_REDIS_PREFIX,
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  RESYNC_INTERVAL_MS: '60000',
  LISTEN_HEARTBEAT_MS: '1000',
  SSE_HEARTBEAT_MS: '300',
  // The suites write far faster than a person; the limits have tests of their own.
  RATE_LIMIT_BURST: '1000000',
  RATE_LIMIT_PER_SECOND: '1000000',
  MAX_STREAMS_PER_CLIENT: '10000',
  READ_RATE_LIMIT_PER_SECOND: '1000000',
  // One web process unless a test asks for more (the cluster has tests of its own).
  WEB_CONCURRENCY: '1',
  // Off unless a test asks for one: many workers start side by side here.
  WORKER_METRICS_PORT: '0',
  NEXT_TELEMETRY_DISABLED: '1',
} as const;
