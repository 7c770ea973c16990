// Whether the production build (.next and dist/) is older than the sources it
// was built from: `npm start` and the benchmark skip the build when it is not.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const SOURCES = [
  'app', 'lib', 'components', 'public', 'server', 'worker', 'db',
  'proxy.ts', 'instrumentation.ts', 'next.config.mjs', 'postcss.config.mjs', 'tsconfig.json', 'package-lock.json', 'scripts/build-server.mjs',
];
const OUTPUTS = ['.next/BUILD_ID', 'dist/web.js', 'dist/worker.js', 'dist/db-setup.js'];

function newest(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(file).reduce((latest, entry) => Math.max(latest, newest(path.join(file, entry))), stat.mtimeMs);
}

/** Why a build is needed, or null when the last one is newer than every source. */
export function buildNeeded(root: string): string | null {
  const missing = OUTPUTS.find((file) => !existsSync(path.join(root, file)));
  if (missing) return `${missing} is missing`;
  const built = Math.min(...OUTPUTS.map((file) => statSync(path.join(root, file)).mtimeMs));
  const changed = SOURCES.map((source) => path.join(root, source)).find((source) => existsSync(source) && newest(source) > built);
  return changed ? `${path.relative(root, changed)} changed since the last build` : null;
}
