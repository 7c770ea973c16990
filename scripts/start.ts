// `npm start` and `npm run dev`: make sure PostgreSQL and Redis answer
// (starting project-local ones under .data/ when the local defaults are not
// running), set up the database, then run web and worker until Ctrl-C, and
// stop whatever servers this script started.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { getConfig } from '../lib/config';
import { buildNeeded } from './build-state';
import { ensureLocalServers, SetupError, stopLocalServers, type LocalServer } from './local-servers';

const mode = process.argv[2] === 'dev' ? 'dev' : 'start';
const node = process.execPath;
const bin = (file: string) => path.join('node_modules', file);

/** Node 20 is past its end of life and lacks what Ripple uses; say how to get 24 rather than fail somewhere deep. */
function requireNode(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) return;
  throw new SetupError(
    `Ripple needs Node.js 22 or newer (24 LTS is what it is built for); this is ${process.version}.\n` +
      'Fetch Node 24 into .tools/ (once, from the npm registry) and put it on PATH for this shell:\n' +
      '  export PATH="$(scripts/ensure-node.sh):$PATH" && npm ci && npm start\n' +
      'or install it with your version manager (`nvm install` reads .nvmrc).',
  );
}

function step(title: string, args: string[], env: NodeJS.ProcessEnv): void {
  console.log(`\n> ${title}`);
  const { status } = spawnSync(node, args, { stdio: 'inherit', env });
  if (status !== 0) throw new SetupError(`${title} failed (exit ${status}); see above.`);
}

async function main(): Promise<number> {
  requireNode();
  const config = getConfig();
  let stopping = false;
  let child: ReturnType<typeof spawn> | undefined;
  // Ctrl-C reaches the whole terminal group (web, worker, concurrently, a
  // running build) at once; a SIGTERM sent to this script alone is passed on.
  // Either way the servers this script started are stopped in `finally`, after
  // web and worker have exited.
  process.on('SIGINT', () => (stopping = true));
  process.on('SIGTERM', () => {
    stopping = true;
    child?.kill('SIGTERM');
  });
  // Readable lines for a person at a terminal; JSON (and no colour codes) when piped to a file or a collector.
  const env = {
    ...process.env,
    LOG_FORMAT: process.env.LOG_FORMAT || (process.stdout.isTTY ? 'pretty' : 'json'),
    NEXT_TELEMETRY_DISABLED: process.env.NEXT_TELEMETRY_DISABLED || '1',
  };
  const servers: LocalServer[] = await ensureLocalServers({
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    dataDir: path.resolve(config.LOCAL_DATA_DIR),
  });
  try {
    step('db:setup', ['--import', 'tsx', 'db/setup.ts'], env);
    // The build is skipped when it is newer than every source (SKIP_BUILD=1 skips it regardless).
    if (mode === 'start' && process.env.SKIP_BUILD !== '1') {
      const why = buildNeeded(process.cwd());
      if (why) {
        console.log(`\n> build (${why})`);
        const { status } = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', env });
        if (status !== 0) throw new SetupError(`build failed (exit ${status}); see above.`);
      } else console.log('\n> build: skipped, .next and dist/ are newer than every source (delete .next to force a build)');
    }
    const apps =
      mode === 'dev'
        ? [`${node} --import tsx server/web.ts --dev`, `${node} ${bin('tsx/dist/cli.mjs')} watch --clear-screen=false worker/index.ts`]
        : [`${node} --enable-source-maps dist/web.js`, `${node} --enable-source-maps dist/worker.js`];
    child = spawn(node, [bin('concurrently/dist/bin/concurrently.js'), '--kill-others', '--names', 'web,worker', '--prefix-colors', 'cyan,magenta', ...apps], {
      stdio: 'inherit',
      env,
    });
    const host = ['127.0.0.1', '0.0.0.0', '::', '::1'].includes(config.HOST) ? 'localhost' : config.HOST;
    console.log(`\nRipple: http://${host}:${config.PORT}  (status: http://${host}:${config.PORT}/status)  Ctrl-C stops everything.\n`);
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
