import { defineConfig } from '@playwright/test';
import { E2E_DATABASE_URL, E2E_REDIS_PREFIX, E2E_WEB_PORT as PORT } from './tests/support/env';

// The e2e suite's own database, key prefix and port, never the demo's.

const serverEnv = {
  DATABASE_URL: E2E_DATABASE_URL,
  REDIS_URL: 'redis://127.0.0.1:6379',
  REDIS_PREFIX: E2E_REDIS_PREFIX,
  LOG_LEVEL: 'warn',
  NEXT_TELEMETRY_DISABLED: '1',
  RATE_LIMIT_BURST: '100000',
  WORKER_METRICS_PORT: '0',
  PORT: String(PORT),
  HOST: '127.0.0.1',
  // One web process: the specs count streams per process. The cluster has integration tests of its own.
  WEB_CONCURRENCY: '1',
  READ_RATE_LIMIT_PER_SECOND: '100000',
};

export default defineConfig({
  testDir: 'tests/e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: [['list'], ['json', { outputFile: '.test-results/playwright.json' }]],
  globalTeardown: './tests/e2e/global-teardown.ts',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium: Playwright cannot download its own browser here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    },
  },
  webServer: {
    // A fresh database, then the production web launcher (dist/web.js in front of
    // the build in .next) and a real worker, as one process group.
    command: 'node --import tsx tests/e2e/reset-database.ts && node node_modules/concurrently/dist/bin/concurrently.js --kill-others --raw "node dist/web.js" "node dist/worker.js"',
    // /healthz answers 200 only once Postgres, Redis and the worker are all up.
    url: `http://127.0.0.1:${PORT}/healthz`,
    env: serverEnv,
    reuseExistingServer: false,
    // SIGTERM lets the worker retire its health key instead of leaving it to expire.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    timeout: 60_000,
  },
});
