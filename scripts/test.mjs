#!/usr/bin/env node
// `npm test`: build once, then every suite against real PostgreSQL, Redis and
// Chromium, and one closing line `N passed, N failed` over all of them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

if (Number(process.versions.node.split('.')[0]) < 22) {
  console.error(`Ripple needs Node.js 22 or newer (24 LTS is what it is built for); this is ${process.version}.`);
  console.error('Put Node 24 on PATH for this shell (fetched once into .tools/ from the npm registry):');
  console.error('  export PATH="$(scripts/ensure-node.sh):$PATH" && npm ci && npm test');
  console.log('\n0 passed, 1 failed');
  process.exit(1);
}

const results = '.test-results';
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

function run(title, command, args) {
  console.log(`\n=== ${title}: ${command} ${args.join(' ')}`);
  const { status, error } = spawnSync(command, args, { stdio: 'inherit', env });
  if (error) console.error(`${title} could not start: ${error.message}`);
  return status ?? 1;
}

function readJson(file) {
  try {
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  } catch {
    return null;
  }
}

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  console.error(`No Chromium at ${chromium}: the end-to-end suite needs one.`);
  console.error('Install it with `sudo apt-get install chromium`, or set CHROMIUM_PATH to a Chromium or Chrome binary.');
  console.log('\n0 passed, 1 failed');
  process.exit(1);
}

let passed = 0;
let failed = 0;

// The Next build and dist/ (the web launcher and the worker, as production runs them).
if (process.env.SKIP_BUILD !== '1' && run('build', 'npm', ['run', '--silent', 'build']) !== 0) {
  console.log('\nThe production build failed, so no suite ran.\n0 passed, 1 failed');
  process.exit(1);
}

const vitestStatus = run('unit and integration (Vitest)', 'npx', [
  'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}/vitest.json`,
]);
const vitest = readJson(`${results}/vitest.json`);
if (vitest) {
  passed += vitest.numPassedTests;
  failed += vitest.numFailedTests;
}
// A crash before any report, or a failing file with no failing test, still fails the run.
if (vitestStatus !== 0 && (!vitest || vitest.numFailedTests === 0)) failed += 1;

const playwrightStatus = run('end to end (Playwright, Chromium)', 'npx', ['playwright', 'test']);
const playwright = readJson(`${results}/playwright.json`);
if (playwright) {
  passed += playwright.stats.expected + playwright.stats.flaky;
  failed += playwright.stats.unexpected;
}
if (playwrightStatus !== 0 && (!playwright || playwright.stats.unexpected === 0)) failed += 1;

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
