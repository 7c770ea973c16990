// The processes a bench run owns: the production web server(s), the worker and
// the load processes. Each is one process started here and stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Reply, Task } from './load';
import { sleep } from './support';

const root = path.resolve(import.meta.dirname, '..');

export type Server = { name: string; child: ChildProcess; output: () => string; stop: () => Promise<void> };

/** A server process; `exec` keeps its PID the shell's, so the PID we hold is the server's. */
export function startServer(name: string, args: string[], env: Record<string, string>, fileLimit: number, node = process.execPath): Server {
  const command = `ulimit -n ${fileLimit} && exec "${node}" ${args.map((arg) => `'${arg}'`).join(' ')}`;
  const child = spawn('sh', ['-c', command], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitForHealthy(url: string, server: Server, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`${server.name} exited:\n${server.output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`${server.name} not healthy at ${url} after ${timeoutMs} ms:\n${server.output()}`);
}

/** A forked load process; run() sends it a task and resolves with its result. */
export type LoadProcess = { run<T>(task: Omit<Task, 'id'>): Promise<T>; stop: () => Promise<void> };

export function startLoad(name: string, fileLimit: number, onProgress: (text: string) => void): LoadProcess {
  // The soft fd limit is raised in a shell first: Node cannot raise its own, and
  // thousands of streams need thousands of sockets.
  const command = `ulimit -n ${fileLimit} && exec "${process.execPath}" --import tsx bench/load.ts`;
  const child = spawn('sh', ['-c', command], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 1;
  child.on('message', (reply: Reply) => {
    if ('progress' in reply) return onProgress(`${name}: ${reply.progress}`);
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) waiter?.resolve(reply.result);
    else waiter?.reject(new Error(`${name}: ${reply.error}`));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited with ${code}`));
    resolve();
  }));
  return {
    run<T>(task: Omit<Task, 'id'>): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ ...task, id });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The process and its descendants (Next may run its server in a child). */
function tree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const found = [pid];
  for (let i = 0; i < found.length; i += 1) found.push(...(parents.get(found[i]) ?? []));
  return found;
}

/** Resident memory of the process tree, in bytes. */
export function rssBytes(pid: number): number {
  return tree(pid).reduce((sum, id) => {
    try {
      const line = readFileSync(`/proc/${id}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
      return sum + (line ? Number(line[1]) * 1024 : 0);
    } catch {
      return sum;
    }
  }, 0);
}

/** CPU seconds (user + system) used so far by the process tree. */
export function cpuSeconds(pid: number): number {
  return tree(pid).reduce((sum, id) => {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of /proc/pid/stat, in clock ticks (100 per second on Linux).
      return sum + (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return sum;
    }
  }, 0);
}
