#!/usr/bin/env node
// Compiles the processes that run outside Next (the web launcher, the worker,
// the database setup) ahead of time into dist/, so production needs neither
// tsx nor TypeScript: `npm ci --omit=dev` and `node dist/web.js` run as is.
// Packages stay in node_modules (not bundled): one copy of each, shared with Next.
import { build } from 'esbuild';

await build({
  entryPoints: { web: 'server/web.ts', worker: 'worker/index.ts', 'db-setup': 'db/setup.ts' },
  outdir: 'dist',
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  // Node 20 still runs it, so the benchmark can compare runtimes on one build.
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
console.log('build: compiled dist/web.js, dist/worker.js, dist/db-setup.js');
