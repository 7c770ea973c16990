// `npm start` and `npm run dev`: make sure PostgreSQL and Redis answer
// (starting project-local ones under .data/ when the local defaults are not
// running), set up the database, then run web and worker until Ctrl-C, and
// stop whatever servers this script started.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { getConfig } from '../lib/config';
import { ensureLocalServers, SetupError, stopLocalServers, type LocalServer } from './local-servers';

const mode = process.argv[2] === 'dev' ? 'dev' : 'start';
const node = process.execPath;
const bin = (file: string) => path.join('node_modules', file);

function step(title: string, args: string[], env: NodeJS.ProcessEnv): void {
  console.log(`\n> ${title}`);
  const { status } = spawnSync(node, args, { stdio: 'inherit', env });
  if (status !== 0) throw new SetupError(`${title} failed (exit ${status}); see above.`);
}

async function main(): Promise<number> {
  const config = getConfig();
  let stopping = false;
  let child: ReturnType<typeof spawn> | undefined;
  // Ctrl-C reaches the whole terminal group (web, worker, concurrently, a
  // running build) by itself; a SIGTERM sent to this script alone is passed on.
  // Either way the servers this script started are stopped in `finally`.
  process.on('SIGINT', () => (stopping = true));
  process.on('SIGTERM', () => {
    stopping = true;
    child?.kill('SIGTERM');
  });
  // People read `npm start`; machines read `npm run start:web` / `start:worker`.
  const env = { ...process.env, LOG_FORMAT: process.env.LOG_FORMAT || 'pretty' };
  const servers: LocalServer[] = await ensureLocalServers({
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    dataDir: path.resolve(config.LOCAL_DATA_DIR),
  });
  try {
    step('db:setup', ['--import', 'tsx', 'db/setup.ts'], env);
    // SKIP_BUILD=1 reuses an existing .next, as `npm test` does.
    if (mode === 'start' && process.env.SKIP_BUILD !== '1') step('build', [bin('next/dist/bin/next'), 'build'], env);
    const apps =
      mode === 'dev'
        ? [`${node} ${bin('next/dist/bin/next')} dev -p ${config.PORT}`, `${node} ${bin('tsx/dist/cli.mjs')} watch --clear-screen=false worker/index.ts`]
        : [`${node} ${bin('next/dist/bin/next')} start -p ${config.PORT}`, `${node} --import tsx worker/index.ts`];
    child = spawn(node, [bin('concurrently/dist/bin/concurrently.js'), '--kill-others', '--names', 'web,worker', '--prefix-colors', 'cyan,magenta', ...apps], {
      stdio: 'inherit',
      env,
    });
    console.log(`\nRipple: http://localhost:${config.PORT}  (status: http://localhost:${config.PORT}/status)  Ctrl-C stops everything.\n`);
    const running = child;
    const code = await new Promise<number>((resolve) => running.once('exit', (exitCode) => resolve(exitCode ?? 1)));
    return stopping ? 0 : code;
  } finally {
    await stopLocalServers(servers);
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error instanceof SetupError ? `\n${error.message}` : error);
    process.exit(1);
  },
);
