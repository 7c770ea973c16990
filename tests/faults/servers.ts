import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/processes';

// Servers of the fault suite's own, on their own ports: restarting or flushing
// them never disturbs the machine's Redis and PostgreSQL (or a running demo).

export type PrivateRedis = { url: string; port: number; start(): Promise<void>; stop(): Promise<void> };

export function privateRedis(port: number): PrivateRedis {
  let child: ChildProcess | undefined;
  const ping = () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG';
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await waitFor(ping, `private Redis on ${port}`);
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  return path.join(root, version, 'bin', name);
}

export type PrivatePostgres = { url: string; start(more?: string[]): Promise<void>; stop(): Promise<void>; remove(): Promise<void> };

/** A throwaway cluster; as root it runs as the postgres user, since PostgreSQL refuses root. */
export function privatePostgres(port: number, { settings = [], database = 'ripple_faults_pg' }: { settings?: string[]; database?: string } = {}): PrivatePostgres {
  const dir = mkdtempSync(path.join(tmpdir(), 'ripple-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout));
  const run = (binary: string, args: string[]) => {
    const [command, fullArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', postgresBin(binary), ...args]] : [postgresBin(binary), args];
    const result = spawnSync(command, fullArgs, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${binary} failed: ${result.stderr || result.stdout}`);
  };
  const data = path.join(dir, 'data');
  let initialised = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    /** Starts it (initdb the first time), with these settings and any more given to this start only. */
    async start(more: string[] = []) {
      if (!initialised) {
        run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
        initialised = true;
      }
      const extra = [...settings, ...more].map((setting) => ` -c ${setting}`).join('');
      run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off${extra}`, 'start']);
    },
    async stop() {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async remove() {
      spawnSync(asRoot ? 'runuser' : postgresBin('pg_ctl'), asRoot ? ['-u', 'postgres', '--', postgresBin('pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
