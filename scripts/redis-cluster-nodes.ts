// What scripts/redis-cluster.ts asks of single nodes and of the operating system.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';

export class ClusterError extends Error {
  override name = 'ClusterError';
}

/** One line of CLUSTER NODES. */
export type NodeLine = {
  id: string;
  port: number;
  flags: string[];
  /** The primary's id, for a replica. */
  masterId?: string;
  /** Marked failing (`fail?`) or failed (`fail`) by the node that answered. */
  failing: boolean;
  slots: Array<[number, number]>;
};

export function parseClusterNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id, address, flagText, master, , , , , ...slotTexts] = line.trim().split(' ');
      const flags = flagText.split(',');
      // `[slot->-id]` entries are slots being migrated: not served yet.
      const slots = slotTexts
        .filter((slot) => !slot.startsWith('['))
        .map((slot) => slot.split('-').map(Number))
        .map(([from, to]) => [from, to ?? from] as [number, number]);
      return {
        id,
        port: Number(address.split('@')[0].split(':').at(-1)),
        flags,
        ...(master !== '-' ? { masterId: master } : {}),
        failing: flags.includes('fail') || flags.includes('fail?'),
        slots,
      };
    });
}

/** One command to one node on a connection of its own, failing fast when nothing answers. */
export async function askNode(port: number, command: string, ...args: string[]): Promise<string> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return String(await client.call(command, ...args));
  } finally {
    client.disconnect();
  }
}

/** Whether pid is a live (not zombie) redis-server for this port: pid files outlive crashes and pids are reused. */
export function isNodeProcess(pid: number, port: number): boolean {
  const result = spawnSync('ps', ['-o', 'stat=,args=', '-p', String(pid)], { encoding: 'utf8' });
  const [stat = '', ...rest] = result.stdout.trim().split(/\s+/);
  const args = rest.join(' ');
  if (!args || stat.startsWith('Z')) return false;
  // Redis retitles itself "redis-server 127.0.0.1:7101 [cluster]"; before that its argv has "--port 7101".
  return args.includes('redis-server') && (args.includes(`:${port} `) || args.endsWith(`:${port}`) || args.includes(`--port ${port} `));
}

/** Whether 127.0.0.1:port can be listened on (a wildcard listener elsewhere takes it too). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function redisCli({ searchPath = process.env.PATH ?? '' } = {}): string | null {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    if (existsSync(path.join(dir, 'redis-cli'))) return path.join(dir, 'redis-cli');
  }
  return existsSync('/usr/bin/redis-cli') ? '/usr/bin/redis-cli' : null;
}

export function runRedisCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(redisCli()!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => resolve({ code: 1, output: error.message }));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Why the cluster is not healthy yet, or '' when it is. */
export async function healthy(live: number[], view: (port: number) => Promise<NodeLine[]>): Promise<string> {
  if (live.length === 0) return 'no node is running';
  let agreed: string | undefined;
  for (const port of live) {
    const info = await askNode(port, 'CLUSTER', 'INFO');
    if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384\b/.test(info)) return `node ${port} is not ok yet`;
    const lines = await view(port);
    const primaries = lines.filter((line) => line.flags.includes('master') && line.slots.length > 0);
    if (primaries.some((line) => line.failing || !live.includes(line.port))) return `node ${port} still routes slots to a dead primary`;
    const map = primaries.map((line) => `${line.port}:${JSON.stringify(line.slots)}`).sort().join(' ');
    if (agreed !== undefined && map !== agreed) return 'the nodes disagree on who serves which slots';
    agreed = map;
    const mine = lines.find((line) => line.flags.includes('myself'));
    if (mine?.flags.includes('slave') && !/master_link_status:up/.test(await askNode(port, 'INFO', 'replication'))) return `replica ${port} is not in sync yet`;
  }
  return '';
}

export async function waitUntil(check: () => Promise<boolean | string>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const result = await check();
      if (result === true || result === '') return;
      last = typeof result === 'string' ? result : '';
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new ClusterError(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
