// A local Redis Cluster (3 primaries, 3 replicas on loopback) from the installed
// redis-server, for developing and testing against REDIS_URL=redis-cluster://…
// Module: startLocalCluster() for tests and the benchmark. CLI:
//   npm run redis:cluster -- start|stop|status [--base-port 7101] [--dir .data/redis-cluster/7101]
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { findRedisServer } from './find-binaries';
import { askNode, ClusterError, healthy, isNodeProcess, parseClusterNodes, portFree, redisCli, runRedisCli, waitUntil, type NodeLine } from './redis-cluster-nodes';

export const DEFAULT_BASE_PORT = 7101;
const SIZE = 6;
const root = path.resolve(import.meta.dirname, '..');

export type ClusterNode = { port: number; role: 'master' | 'slave'; id: string; masterId?: string; alive: boolean; slots: Array<[number, number]> };

export type LocalCluster = {
  basePort: number;
  ports: number[];
  dir: string;
  /** REDIS_URL for Ripple: every node as a seed. */
  url: string;
  /** Each node as it sees itself (or, if its process is gone, as the others last saw it). */
  nodes(): Promise<ClusterNode[]>;
  /** The port of the primary serving the slot of this key, as the live nodes agree. */
  primaryFor(key: string): Promise<number>;
  /** SIGKILL, as in a crash: nodes.conf stays, so restart() brings the same node back. */
  kill(port: number): Promise<void>;
  /** Starts a node (a killed one again, from its nodes.conf: it rejoins, a former primary as a replica); resolves once it answers. */
  restart(port: number): Promise<void>;
  /** Which nodes have a live process. */
  alive(): number[];
  /** Why the cluster is not healthy (see waitHealthy), or '' when it is. */
  health(): Promise<string>;
  /** Until every live node says cluster_state:ok, all 16384 slots are served by live primaries every node agrees on, and every live replica is in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes the directory. */
  stop(): Promise<void>;
};

export type ClusterOptions = {
  basePort?: number;
  /** Default .data/redis-cluster/<basePort> in the checkout (git-ignored). */
  dir?: string;
  /** Nodes in their own process group, outliving this process (the CLI); else Ctrl-C on a test run stops them too. */
  detached?: boolean;
  /** Replicas per primary: 1 (the default, six nodes), or 0 for three primaries alone (the benchmark's baseline for what replication costs). */
  replicas?: 0 | 1;
};

export { ClusterError };

export const INSTALL_REDIS = [
  'No redis-server (and redis-cli) on PATH: the local Redis Cluster runs the installed Redis 7 or newer.',
  '  Debian/Ubuntu:  sudo apt-get install -y redis-server',
  '  Fedora:         sudo dnf install -y redis',
  '  macOS:          brew install redis',
].join('\n');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function nodeArgs(port: number, dir: string): string[] {
  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes',
    '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
    // Failure noticed within a second; tests wait for promotion, not for minutes.
    '--cluster-node-timeout', '1000',
    // A replica may always stand for election, however long since it last heard its
    // primary: on a loaded machine its link can look stale, and failover must not stall.
    '--cluster-replica-validity-factor', '0',
    // A node that lost its slots answers nothing rather than stale reads (Redis's default, said out loud).
    '--cluster-allow-reads-when-down', 'no',
    // A replica syncs at once (Redis 7 waits 5 s for company by default).
    '--repl-diskless-sync', 'yes',
    '--repl-diskless-sync-delay', '0',
    // No persistence: it is a cache; the dump a replica receives needs its own name in a shared dir.
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--dbfilename', `dump-${port}.rdb`,
    '--logfile', path.join(dir, `redis-${port}.log`),
    '--daemonize', 'no',
  ];
}

export function clusterUrl(ports: number[], auth = ''): string {
  return `redis-cluster://${auth ? `${auth}@` : ''}${ports.map((port) => `127.0.0.1:${port}`).join(',')}`;
}

/** A handle on the cluster kept in `dir` (default .data/redis-cluster/<basePort>), running or not. */
export function localCluster({ basePort = DEFAULT_BASE_PORT, dir, detached = false, replicas = 1 }: ClusterOptions = {}): LocalCluster {
  const ports = Array.from({ length: 3 * (1 + replicas) }, (_, i) => basePort + i);
  const home = path.resolve(dir ?? path.join(root, '.data', 'redis-cluster', String(basePort)));
  const pidFile = (port: number) => path.join(home, `redis-${port}.pid`);
  const pidOf = (port: number): number | null => {
    const text = existsSync(pidFile(port)) ? readFileSync(pidFile(port), 'utf8').trim() : '';
    const pid = Number(text);
    return pid > 0 && isNodeProcess(pid, port) ? pid : null;
  };
  const alive = () => ports.filter((port) => pidOf(port) !== null);

  async function ownView(port: number): Promise<NodeLine[]> {
    return parseClusterNodes(await askNode(port, 'CLUSTER', 'NODES'));
  }

  function launch(port: number): void {
    const server = findRedisServer();
    if (!server) throw new ClusterError(INSTALL_REDIS);
    const log = openSync(path.join(home, `redis-${port}.out`), 'a');
    // Its own process group when detached (the CLI exits, the node stays); else
    // Ctrl-C on the test run reaches it too. Unref'd either way: the pid file tracks it.
    const child = spawn(server, nodeArgs(port, home), { detached, stdio: ['ignore', log, log] });
    closeSync(log);
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new ClusterError(`Could not start ${server} for port ${port}.`);
    writeFileSync(pidFile(port), String(child.pid));
  }

  async function waitExited(port: number, pid: number): Promise<void> {
    for (let i = 0; i < 200 && isNodeProcess(pid, port); i += 1) await sleep(25);
  }

  async function signal(port: number, name: NodeJS.Signals): Promise<void> {
    const pid = pidOf(port);
    if (pid === null) return;
    try {
      process.kill(pid, name);
    } catch {
      return;
    }
    await waitExited(port, pid);
    if (isNodeProcess(pid, port)) {
      process.kill(pid, 'SIGKILL');
      await waitExited(port, pid);
    }
  }

  const handle: LocalCluster = {
    basePort,
    ports,
    dir: home,
    url: clusterUrl(ports),
    alive,

    async nodes() {
      const live = alive();
      const result = new Map<number, ClusterNode>();
      const toNode = (line: NodeLine, isAlive: boolean): ClusterNode => ({
        port: line.port,
        role: line.flags.includes('master') ? 'master' : 'slave',
        id: line.id,
        ...(line.masterId ? { masterId: line.masterId } : {}),
        alive: isAlive,
        slots: line.slots,
      });
      for (const port of live) {
        const mine = (await ownView(port).catch(() => [])).find((line) => line.flags.includes('myself'));
        if (mine) result.set(port, toNode(mine, true));
      }
      for (const port of live) {
        for (const line of await ownView(port).catch(() => [])) {
          if (!result.has(line.port) && ports.includes(line.port)) result.set(line.port, toNode(line, false));
        }
      }
      return [...result.values()].sort((a, b) => a.port - b.port);
    },

    async primaryFor(key) {
      const [first] = alive();
      if (first === undefined) throw new ClusterError(`No node of the cluster on ${ports[0]}-${ports.at(-1)} is running.`);
      const slot = Number(await askNode(first, 'CLUSTER', 'KEYSLOT', key));
      const owner = (await ownView(first)).find((line) => line.flags.includes('master') && !line.failing && line.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!owner) throw new ClusterError(`No live primary serves slot ${slot} (key ${key}).`);
      return owner.port;
    },

    async kill(port) {
      await signal(port, 'SIGKILL');
    },

    async restart(port) {
      if (pidOf(port) !== null) return;
      if (!(await portFree(port)) || !(await portFree(port + 10_000))) throw new ClusterError(portTakenMessage(port, basePort));
      launch(port);
      await waitUntil(async () => (await askNode(port, 'PING')) === 'PONG', `node ${port} to answer after restart (log: ${home}/redis-${port}.log)`, 10_000);
    },

    health: () => healthy(alive(), ownView).catch((error: Error) => error.message),

    async waitHealthy(timeoutMs = 30_000) {
      await waitUntil(() => healthy(alive(), ownView), `the cluster on ${ports[0]}-${ports.at(-1)} to be healthy (logs in ${home})`, timeoutMs);
    },

    async stop() {
      await Promise.all(ports.map((port) => signal(port, 'SIGTERM')));
      rmSync(home, { recursive: true, force: true });
    },
  };
  return handle;
}

function portTakenMessage(port: number, basePort: number): string {
  return (
    `Port ${port} (or its cluster bus port ${port + 10_000}) on 127.0.0.1 is taken by another program. ` +
    `The cluster needs ${basePort}-${basePort + SIZE - 1} and ${basePort + 10_000}-${basePort + 10_000 + SIZE - 1}: ` +
    `choose another base port, e.g. \`npm run redis:cluster -- start --base-port ${basePort + 100}\` ` +
    '(the test suite moves with RIPPLE_TEST_PORT_OFFSET).'
  );
}

/**
 * A fresh cluster: any node left running in `dir` by an earlier run is stopped and
 * its state removed, then six nodes are started, joined with `redis-cli --cluster
 * create` and waited for until healthy. `detached` (the CLI) lets them outlive this process.
 */
export async function startLocalCluster(options: ClusterOptions = {}): Promise<LocalCluster> {
  if (!findRedisServer() || !redisCli()) throw new ClusterError(INSTALL_REDIS);
  const cluster = localCluster(options);
  await cluster.stop();
  for (const port of cluster.ports) {
    if (!(await portFree(port)) || !(await portFree(port + 10_000))) throw new ClusterError(portTakenMessage(port, cluster.basePort));
  }
  mkdirSync(cluster.dir, { recursive: true });
  try {
    await Promise.all(cluster.ports.map((port) => cluster.restart(port)));
    const replicas = String(options.replicas ?? 1);
    const created = await runRedisCli(['--cluster', 'create', ...cluster.ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', replicas, '--cluster-yes']);
    if (created.code !== 0) throw new ClusterError(`redis-cli --cluster create failed:\n${created.output.trim()}`);
    await cluster.waitHealthy(30_000);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** A cluster client for tests and tools, with an 'error' listener so a killed node is not an unhandled event. */
export function clusterClient(cluster: Pick<LocalCluster, 'ports'>): InstanceType<typeof Redis.Cluster> {
  const client = new Redis.Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })), {
    redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 1_000 },
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
  });
  client.on('error', () => undefined);
  return client;
}

function parseArgs(argv: string[]): { command?: string; basePort: number; dir?: string } {
  const [command, ...rest] = argv;
  let basePort = DEFAULT_BASE_PORT;
  let dir: string | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    const given = rest[i];
    const [flag, inline] = given.split('=', 2);
    const value = inline ?? rest[++i];
    const said = inline === undefined && value !== undefined ? `${given} ${value}` : given;
    if (flag === '--base-port' && /^\d+$/.test(value ?? '') && Number(value) > 0 && Number(value) + 10_000 + SIZE <= 65_536) basePort = Number(value);
    else if (flag === '--dir' && value) dir = value;
    else throw new ClusterError(`Unknown or bad option "${said}": expected --base-port N (1-${65_536 - 10_000 - SIZE}) or --dir D.`);
  }
  return { command, basePort, dir };
}

async function printNodes(cluster: LocalCluster): Promise<void> {
  const nodes = await cluster.nodes();
  const portOf = new Map(nodes.map((node) => [node.id, node.port]));
  for (const node of nodes) {
    const what = node.role === 'master' ? `primary, slots ${node.slots.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(' ') || 'none'}` : `replica of ${portOf.get(node.masterId ?? '') ?? node.masterId}`;
    console.log(`  127.0.0.1:${node.port}  ${node.alive ? 'up  ' : 'DOWN'}  ${what}`);
  }
}

async function cli(argv: string[]): Promise<number> {
  const { command, basePort, dir } = parseArgs(argv);
  const cluster = localCluster({ basePort, dir, detached: true });
  const range = `${cluster.ports[0]}-${cluster.ports.at(-1)}`;
  const running = cluster.alive();
  if (command === 'start') {
    if (running.length === SIZE) {
      console.log(`redis-cluster: already running on ${range} (${cluster.dir})`);
    } else if (running.length > 0) {
      console.log(`redis-cluster: ${running.length} of ${SIZE} nodes running on ${range}; starting the others, which rejoin`);
      for (const port of cluster.ports) await cluster.restart(port);
      await cluster.waitHealthy();
    } else {
      console.log(`redis-cluster: starting 3 primaries and 3 replicas on ${range} (data and logs in ${cluster.dir})`);
      await startLocalCluster({ basePort, dir, detached: true });
    }
    await printNodes(cluster);
    console.log(`\nREDIS_URL=${cluster.url}`);
    return 0;
  }
  if (command === 'stop') {
    await cluster.stop();
    console.log(running.length ? `redis-cluster: stopped ${running.length} nodes on ${range} and removed ${cluster.dir}` : `redis-cluster: nothing was running on ${range}; removed ${cluster.dir}`);
    return 0;
  }
  if (command === 'status') {
    if (running.length === 0) {
      console.log(`redis-cluster: not running on ${range} (start it with \`npm run redis:cluster -- start${basePort === DEFAULT_BASE_PORT ? '' : ` --base-port ${basePort}`}\`)`);
      return 1;
    }
    const problem = await cluster.health();
    console.log(`redis-cluster: ${running.length} of ${SIZE} nodes running on ${range}; ${problem ? `not healthy: ${problem}` : 'healthy (cluster_state:ok, every slot served)'}`);
    await printNodes(cluster);
    console.log(`\nREDIS_URL=${cluster.url}`);
    return problem ? 1 : 0;
  }
  console.error('usage: npm run redis:cluster -- start|stop|status [--base-port 7101] [--dir .data/redis-cluster/7101]');
  return 2;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error instanceof ClusterError ? `redis-cluster: ${error.message}` : error);
      process.exit(1);
    },
  );
}
