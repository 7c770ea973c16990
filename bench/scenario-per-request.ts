// Per-request cost next to a bare route in the same build (scenario 1), and
// what the runtime, the number of web processes and compression change
// (scenario 6). CPU per request is the web server's process tree CPU (every
// process of a cluster) over a run, divided by the requests answered.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Bench } from './scenarios';
import { cpuSeconds, waitForHealthy, type LoadProcess, type Server } from './processes';
import { ms, type Row } from './report';
import { summarize, type Summary } from './support';

type Sequential = { latencies: number[]; statuses: Record<string, number> };
export type Measured = { latency: Summary; cpuMs: number; count: number; failed: number };

/** Sequential keep-alive requests from a load process, with the server's CPU per request over the run. */
export async function measureSequential(loader: LoadProcess, pid: number, url: string, method: 'GET' | 'POST', count: number, body?: string): Promise<Measured> {
  await loader.run<Sequential>({ kind: 'sequential', params: { url, method, body, count: Math.min(50, count), warmup: 0 } });
  const before = cpuSeconds(pid);
  const r = await loader.run<Sequential>({ kind: 'sequential', params: { url, method, body, count, warmup: 0 } });
  const cpuMs = ((cpuSeconds(pid) - before) * 1000) / count;
  const failed = Object.entries(r.statuses).filter(([status]) => status !== '200').reduce((sum, [, n]) => sum + n, 0);
  return { latency: summarize(r.latencies), cpuMs, count, failed };
}

/** Merges measurements of the same thing taken in several slices. */
function merge(parts: Measured[]): Measured {
  const count = parts.reduce((sum, part) => sum + part.count, 0);
  return {
    count,
    cpuMs: parts.reduce((sum, part) => sum + part.cpuMs * part.count, 0) / count,
    failed: parts.reduce((sum, part) => sum + part.failed, 0),
    // Percentiles of the slices' p50s would be wrong; the slices are equal in size, so the median slice p50 is close.
    latency: parts.map((part) => part.latency).sort((a, b) => a.p50 - b.p50)[Math.floor(parts.length / 2)],
  };
}

export const cell = (m: Measured) => `${m.cpuMs.toFixed(2)} ms CPU; p50/p99 ${ms(m.latency.p50)}/${ms(m.latency.p99)} ms${m.failed ? `; ${m.failed} failed` : ''}`;
const over = (ripple: Measured, base: Measured) => `${(((ripple.cpuMs - base.cpuMs) / base.cpuMs) * 100).toFixed(0)} % more CPU than the bare route`;

/**
 * Ripple's GET and POST against the bare baseline route of the same build,
 * alternating in slices so that anything else on the machine falls on both.
 */
export async function perRequest(bench: Bench, loader: LoadProcess, username: string): Promise<{ rows: Row[]; results: Record<string, Measured> }> {
  const n = bench.options.perRequest;
  const rounds = bench.options.smoke ? 1 : 4;
  const each = Math.ceil(n / rounds);
  const url = (path: string) => `${bench.urlOn}${path}`;
  const body = '{"likes": 1}';
  const parts: Record<string, Measured[]> = { getRipple: [], getBase: [], postRipple: [], postBase: [] };
  for (let round = 0; round < rounds; round += 1) {
    parts.getRipple.push(await measureSequential(loader, bench.webPid, url(`/v1/profile/${username}`), 'GET', each));
    parts.getBase.push(await measureSequential(loader, bench.webPid, url('/v1/baseline'), 'GET', each));
    parts.postRipple.push(await measureSequential(loader, bench.webPid, url(`/v1/profile/${username}`), 'POST', each, body));
    parts.postBase.push(await measureSequential(loader, bench.webPid, url('/v1/baseline'), 'POST', each, body));
  }
  const r = Object.fromEntries(Object.entries(parts).map(([key, list]) => [key, merge(list)])) as Record<keyof typeof parts, Measured>;
  const rows: Row[] = [
    { scenario: '1 per request', measure: `GET /v1/profile/{u} vs GET of the bare route (constant JSON), ${r.getRipple.count} sequential keep-alive requests each; ${over(r.getRipple, r.getBase)}`, result: cell(r.getRipple), baseline: cell(r.getBase) },
    { scenario: '', measure: `POST /v1/profile/{u} (a write) vs POST of the bare route (reads the body); ${over(r.postRipple, r.postBase)}`, result: cell(r.postRipple), baseline: cell(r.postBase) },
  ];
  return { rows, results: r };
}

type Config = { name: string; node: string; args: string[]; env: Record<string, string> };

/** Node 20 where the machine has it (Debian's /usr/bin/node), for the runtime comparison. */
function node20(): string | null {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    try {
      if (execFileSync(candidate, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim() === '20') return candidate;
    } catch {
      // Not runnable.
    }
  }
  return null;
}

/**
 * The same build under each runtime, process count, server and compression
 * setting, started side by side and measured in alternating slices.
 */
export async function runtimes(bench: Bench, loader: LoadProcess): Promise<void> {
  const old = node20();
  const next = 'node_modules/next/dist/bin/next';
  const port = (index: number) => String(3480 + index);
  const configs: Config[] = [
    { name: 'launcher, Node 24, 1 process, compression pages (default)', node: process.execPath, args: ['dist/web.js'], env: { WEB_CONCURRENCY: '1' } },
    { name: `launcher, Node 24, ${bench.cores} processes (WEB_CONCURRENCY)`, node: process.execPath, args: ['dist/web.js'], env: { WEB_CONCURRENCY: String(bench.cores) } },
    { name: 'launcher, Node 24, 1 process, compression all (as Next by default)', node: process.execPath, args: ['dist/web.js'], env: { WEB_CONCURRENCY: '1', COMPRESSION: 'all' } },
    { name: '`next start`, Node 24, 1 process (no launcher)', node: process.execPath, args: [next, 'start', '-H', '127.0.0.1'], env: {} },
    ...(old
      ? [
          { name: 'launcher, Node 20, 1 process', node: old, args: ['dist/web.js'], env: { WEB_CONCURRENCY: '1' } },
          { name: '`next start`, Node 20, 1 process (no launcher)', node: old, args: [next, 'start', '-H', '127.0.0.1'], env: {} },
        ]
      : []),
  ];
  const servers: Array<{ config: Config; server: Server; url: string }> = [];
  for (const [index, config] of configs.entries()) {
    const args = config.args[0] === next ? [...config.args, '-p', port(index)] : config.args;
    const server = bench.startServer(`web (${config.name})`, args, { ...config.env, PORT: port(index) }, config.node);
    servers.push({ config, server, url: `http://127.0.0.1:${port(index)}` });
  }
  for (const { server, url } of servers) await waitForHealthy(`${url}/healthz`, server);
  bench.log(`runtimes: ${servers.length} web servers up${old ? '' : ' (no Node 20 on this machine: its rows are left out)'}`);

  const n = bench.options.perRequest;
  const rounds = bench.options.smoke ? 1 : 2;
  const each = Math.ceil(n / rounds);
  const seconds = bench.options.smoke ? 1 : 3;
  const results = new Map<string, { get: Measured[]; post: Measured[]; hot: Array<{ perSecond: number; cpuMs: number; p50: number }> }>();
  for (const { config } of servers) results.set(config.name, { get: [], post: [], hot: [] });
  for (let round = 0; round < rounds; round += 1) {
    for (const { config, server, url } of servers) {
      const pid = server.child.pid!;
      const into = results.get(config.name)!;
      into.get.push(await measureSequential(loader, pid, `${url}/v1/profile/solo`, 'GET', each));
      into.post.push(await measureSequential(loader, pid, `${url}/v1/profile/solo`, 'POST', each, '{"likes": 1}'));
      const before = cpuSeconds(pid);
      const hot = await loader.run<{ latencies: number[]; ok: number; elapsedMs: number }>({ kind: 'throughput', params: { baseUrl: url, usernames: ['hot'], concurrency: 16, seconds } });
      into.hot.push({ perSecond: hot.ok / (hot.elapsedMs / 1000), cpuMs: ((cpuSeconds(pid) - before) * 1000) / Math.max(hot.ok, 1), p50: summarize(hot.latencies).p50 });
    }
  }
  const summary: Record<string, unknown> = {};
  for (const [index, { config }] of servers.entries()) {
    const r = results.get(config.name)!;
    const get = merge(r.get);
    const post = merge(r.post);
    const perSecond = r.hot.reduce((sum, part) => sum + part.perSecond, 0) / r.hot.length;
    const hotCpu = r.hot.reduce((sum, part) => sum + part.cpuMs, 0) / r.hot.length;
    summary[config.name] = { get, post, hot: { perSecond, cpuMs: hotCpu } };
    bench.rows.push({
      scenario: index === 0 ? '6 runtime, processes, compression' : '',
      measure: config.name,
      result: `GET ${cell(get)} · POST ${cell(post)}`,
      baseline: `one hot profile, 16 keep-alive writers: ${perSecond.toFixed(0)} POST/s, ${hotCpu.toFixed(2)} ms CPU per POST`,
    });
  }
  bench.results.runtimes = summary;
  for (const { server } of servers) await server.stop();
}
