import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { testEnv } from './tests/support/env.ts';

const alias = { '@': path.resolve(import.meta.dirname) };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          // Only *.test.ts: Playwright's *.spec.ts files live in tests/e2e and never run here.
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/support/global-setup.ts'],
          env: { ...testEnv },
          // The files share one database, one worker channel and one web server.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'faults',
          include: ['tests/faults/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/faults/global-setup.ts'],
          env: { ...testEnv },
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'cluster',
          include: ['tests/cluster/**/*.test.ts'],
          environment: 'node',
          // Starts a private six-node Redis Cluster and a database of its own (tests/support/env.ts).
          globalSetup: ['tests/cluster/global-setup.ts'],
          env: { ...testEnv },
          // One cluster, one database: a primary killed in one file must not surprise another.
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
