import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { testEnv, TEST_WEB_PORT } from './env';

const root = path.resolve(import.meta.dirname, '../..');

export type Started = {
  child: ChildProcess;
  output: () => string;
  /** SIGTERM, waiting for a clean exit (SIGKILL after 5 s); returns the exit code. */
  stop: () => Promise<number | null>;
  /** SIGKILL: no clean-up runs, as in a crash. */
  kill: () => Promise<void>;
};

function start(command: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...testEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    output: () => output,
    async stop() {
      if (!alive()) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (!alive()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Thrown from a waitFor check: what it waits for can no longer happen (a process exited), so stop waiting. */
export class GaveUp extends Error {}

export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      if (error instanceof GaveUp) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function assertBuilt(): void {
  for (const file of ['.next/BUILD_ID', 'dist/web.js', 'dist/worker.js']) {
    if (!existsSync(path.join(root, file))) {
      throw new Error(`No production build (${file} is missing): run \`npm run build\` (npm test does this) before the integration suite.`);
    }
  }
}

/** A real worker process (dist/worker.js), not waited for: for a test that expects it not to get far. */
export function spawnWorker(env: Record<string, string> = {}): Started {
  assertBuilt();
  return start(process.execPath, ['--enable-source-maps', 'dist/worker.js'], { LOG_LEVEL: 'info', ...env });
}

/**
 * A real worker process, as production runs it (dist/worker.js), resolved once
 * it has LISTENed and finished its first resync, or (CHANGE_SOURCE=logical)
 * caught up with its slot or started waiting for another worker's.
 */
export async function startWorker(env: Record<string, string> = {}): Promise<Started> {
  assertBuilt();
  // info level: readiness is read from the worker's own "resynced" line.
  const worker = start(process.execPath, ['--enable-source-maps', 'dist/worker.js'], { LOG_LEVEL: 'info', ...env });
  try {
    await waitFor(() => {
      if (worker.child.exitCode !== null) throw new GaveUp(`the worker exited: ${worker.output()}`);
      return /resynced \d+ profiles|caught up with slot|this one waits and takes over/.test(worker.output());
    }, 'the worker to listen and resync', 15_000);
  } catch (error) {
    await worker.kill();
    throw error;
  }
  return worker;
}

/**
 * The production web server, started as production starts it: the web launcher
 * (dist/web.js) in front of the Next build in .next, both built by `npm test`
 * before the suites run. One web process unless env says WEB_CONCURRENCY.
 */
export async function startWeb(env: Record<string, string> = {}, port = TEST_WEB_PORT): Promise<Started> {
  assertBuilt();
  const web = start(process.execPath, ['--enable-source-maps', 'dist/web.js'], { PORT: String(port), HOST: '127.0.0.1', ...env });
  try {
    await waitFor(async () => {
      if (web.child.exitCode !== null) throw new GaveUp(`the web server exited: ${web.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).status > 0;
    }, `the web server on port ${port}`, 60_000);
  } catch (error) {
    await web.kill();
    throw error;
  }
  return web;
}
