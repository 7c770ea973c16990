// The production web server: `npm run start:web` (node dist/web.js). Runs one
// web process per core (WEB_CONCURRENCY overrides; 1 runs a single process and
// no cluster), all on one port, each with its own Redis subscription and its
// own stream slots. `--dev` runs one process with Next's dev server instead.
//
// Why a launcher of our own rather than `next start`: the per-request path is
// the same (a custom server gets the very request handler `next start` uses,
// and the bench measures both), but only code that sees the socket can tell who
// the client is, refuse a foreign Host, bound connections and deadlines, and
// answer what it refuses without Next's per-request cost.
import './env';
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { getConfig } from '../lib/config';
import { logger } from '../lib/logger';
import { onStopSignals } from '../lib/stop-signals';
import { getSite } from '../lib/http/site';
import { serveClusterMetrics } from './cluster-metrics';
import { runWebProcess } from './web-process';

const dev = process.argv.includes('--dev');

function processCount(): number {
  const configured = getConfig().WEB_CONCURRENCY;
  return dev ? 1 : configured > 0 ? configured : os.availableParallelism();
}

function warnAboutOpenBinding(): void {
  const config = getConfig();
  if (!getSite(config).explicit && !['127.0.0.1', 'localhost', '::1'].includes(config.HOST)) {
    logger.warn(`web: listening on ${config.HOST} but only localhost names are allowed in Host; set PUBLIC_ORIGIN (or ALLOWED_HOSTS) to the name people use`);
  }
}

async function runPrimary(count: number): Promise<void> {
  const config = getConfig();
  serveClusterMetrics();
  let stopping: NodeJS.Signals | null = null;
  const crashes: number[] = [];

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.once('exit', (code, signal) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          logger.info('web: every web process has stopped');
          process.exit(stopping === 'SIGTERM' ? 143 : 130);
        }
        return;
      }
      // A process that died on its own: replace it, unless they keep dying at once.
      const now = Date.now();
      crashes.push(now);
      while (crashes.length && crashes[0] < now - 30_000) crashes.shift();
      if (crashes.length > 2 * count + 3) {
        logger.fatal('web: web processes keep dying right after they start; stopping. See the errors above.');
        process.exit(1);
      }
      logger.warn({ pid: worker.process.pid, code, signal }, `web: web process ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
      setTimeout(() => stopping || fork(), 250 * crashes.length);
    });
    return worker;
  };

  for (let index = 0; index < count; index += 1) fork();
  let listening = 0;
  cluster.on('listening', () => {
    listening += 1;
    if (listening === count) logger.info(`web: listening on http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT} (${count} processes)`);
  });

  const onSignal = (signal: NodeJS.Signals) => {
    stopping = signal;
    logger.info(`web: ${signal} received; stopping ${Object.keys(cluster.workers ?? {}).length} web processes (send it again to force)`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.send({ type: 'ripple:stop', signal });
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(signal === 'SIGTERM' ? 143 : 130);
    // A process that does not stop in time (its own grace period has passed) is killed.
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    }, config.SHUTDOWN_GRACE_MS + 2_000).unref();
  };
  onStopSignals({
    stop: onSignal,
    force: (signal) => {
      logger.warn(`web: second ${signal}; killing every web process now`);
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    },
  });
}

async function main(): Promise<void> {
  if (cluster.isPrimary) {
    warnAboutOpenBinding();
    const count = processCount();
    if (count > 1) return runPrimary(count);
  }
  await runWebProcess({ dev });
}

main().catch((error: Error) => {
  logger.fatal({ err: error }, `web: ${error.message}`);
  process.exit(1);
});
