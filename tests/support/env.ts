// The integration suite's own database, key prefix and ports: never the demo's,
// so a test run and `npm start` on one machine do not touch each other.
export const TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/ripple_test_integration';
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';
export const TEST_REDIS_PREFIX = 'ripple-test-integration:';
export const TEST_WEB_PORT = 3111;
export const TEST_WEB_URL = `http://127.0.0.1:${TEST_WEB_PORT}`;

export const testEnv = {
  DATABASE_URL: TEST_DATABASE_URL,
  REDIS_URL: TEST_REDIS_URL,
  REDIS_PREFIX: TEST_REDIS_PREFIX,
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'json',
  RESYNC_INTERVAL_MS: '60000',
  LISTEN_HEARTBEAT_MS: '1000',
  SSE_HEARTBEAT_MS: '300',
  NEXT_TELEMETRY_DISABLED: '1',
} as const;
