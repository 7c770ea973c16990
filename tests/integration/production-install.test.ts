import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv, TEST_WEB_PORT } from '../support/env';
import { GaveUp, waitFor } from '../support/processes';

// Issue 12, item 8: a production install runs. A clean copy of the repository
// (its tracked files, as a clone has them) with the build beside it, as a
// deployment ships it; `npm ci --omit=dev`; then the production start of web
// and worker, which must serve without tsx, TypeScript or pino-pretty.
const root = path.resolve(import.meta.dirname, '../..');
const port = TEST_WEB_PORT + 26;

describe('a production install', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ripple-production-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npm ci --omit=dev, then the web launcher and the worker from dist/ serve the app', async () => {
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const file of files) {
      if (!existsSync(path.join(root, file))) continue;
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      cpSync(path.join(root, file), path.join(dir, file));
    }
    // The build, made where the development dependencies are (npm test just did).
    cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
    cpSync(path.join(root, '.next'), path.join(dir, '.next'), { recursive: true, filter: (source) => !source.includes(`${path.sep}cache`) });

    const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);
    for (const absent of ['tsx', 'pino-pretty', 'typescript', 'esbuild']) expect(existsSync(path.join(dir, 'node_modules', absent)), absent).toBe(false);

    const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' };
    const outputs = { web: '', worker: '' };
    const start = (name: 'web' | 'worker') => {
      const child = spawn(process.execPath, [`dist/${name}.js`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (chunk: Buffer) => (outputs[name] += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (outputs[name] += chunk.toString()));
      return child;
    };
    const worker = start('worker');
    const web = start('web');
    try {
      await waitFor(async () => {
        if (web.exitCode !== null || worker.exitCode !== null) throw new GaveUp(`exited:\nweb: ${outputs.web}\nworker: ${outputs.worker}`);
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
      }, 'the production install to be healthy', 60_000);
      const page = await fetch(`http://127.0.0.1:${port}/alice`);
      expect(page.status).toBe(200);
      const write = await fetch(`http://127.0.0.1:${port}/v1/profile/alice`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"likes": 1}' });
      expect(write.status).toBe(200);
    } finally {
      const exits = [web, worker].map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve))));
      web.kill('SIGTERM');
      worker.kill('SIGTERM');
      await Promise.all(exits);
    }
    expect(outputs.web + outputs.worker).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find module/);
  }, 180_000);
});
