import { readFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { createProfile, testPool } from '../support/db';
import { TEST_WEB_PORT } from '../support/env';
import { startWeb, startWorker, waitFor, type Started } from '../support/processes';

// Issue 11: the launcher runs one web process per core on one port. Each holds
// its own subscription and stream slots; a write answered by one reaches the
// streams held by the others, and losing one loses no other's streams.
const port = TEST_WEB_PORT + 23;
const url = `http://127.0.0.1:${port}`;

type Stream = { versions: number[]; closed: boolean; close: () => void };

/** One SSE stream on a connection of its own (the cluster hands connections out in turn). */
function openStream(username: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: false });
    const request = http.get(`${url}/stream?u=${username}`, { agent }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`stream answered ${response.statusCode}`));
      const stream: Stream = { versions: [], closed: false, close: () => request.destroy() };
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block);
          if (block.startsWith('event: profile') && data) stream.versions.push((JSON.parse(data[1]) as { version: number }).version);
        }
      });
      response.on('close', () => (stream.closed = true));
      request.on('error', () => (stream.closed = true));
      resolve(stream);
    });
    request.on('error', reject);
  });
}

type WebList = Array<{ pid: number; openStreams: number }>;

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** The web processes of this launcher on the status page (other tests' servers share the key prefix). */
async function webProcesses(launcher: number): Promise<WebList> {
  const body = (await (await fetch(`${url}/v1/status`)).json()) as { web: { list: WebList } };
  return body.web.list.filter((process) => parentOf(process.pid) === launcher);
}

async function like(username: string): Promise<number> {
  const response = await fetch(`${url}/v1/profile/${username}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"likes": 1}' });
  expect(response.status).toBe(200);
  return ((await response.json()) as { version: number }).version;
}

describe('one web process per core, all on one port', () => {
  let pool: pg.Pool;
  let web: Started;
  let worker: Started;

  beforeAll(async () => {
    pool = testPool();
    await createProfile(pool, 'cluster_user');
    worker = await startWorker();
    web = await startWeb({ WEB_CONCURRENCY: '2', LOG_LEVEL: 'info' }, port);
  });

  afterAll(async () => {
    await Promise.all([web?.stop(), worker?.stop()]);
    await pool?.end();
  });

  it('a write answered by one process reaches the streams every process holds; killing one loses no other process\'s streams', async () => {
    // The primary hands connections only to processes already listening: wait until both are,
    // or on a busy machine all six streams can land on the first one up.
    await waitFor(async () => (await webProcesses(web.child.pid!)).length === 2, 'both web processes to announce themselves', 30_000);
    const streams = await Promise.all(Array.from({ length: 6 }, () => openStream('cluster_user')));
    try {
      // Every process announces its open streams: both must hold some.
      const holding = await waitFor(async () => {
        const list = await webProcesses(web.child.pid!);
        return list.length === 2 && list.every((process) => process.openStreams > 0) && list;
      }, 'both web processes to hold streams', 15_000);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^ripple_sse_open_streams 6$/m);

      const first = await like('cluster_user');
      await waitFor(() => streams.every((stream) => stream.versions.includes(first)), 'the write on every stream, on both processes');

      const victim = holding[0].pid;
      process.kill(victim, 'SIGKILL');
      await waitFor(() => streams.some((stream) => stream.closed), 'the killed process\'s streams to end');
      const survivors = streams.filter((stream) => !stream.closed);
      expect(survivors.length).toBeGreaterThan(0);
      expect(survivors.length).toBeLessThan(6);
      const second = await like('cluster_user');
      await waitFor(() => survivors.every((stream) => stream.versions.includes(second)), 'the next write on every surviving stream');
      expect(survivors.every((stream) => !stream.closed)).toBe(true);

      // The launcher replaces the dead process, and a new stream is served.
      await waitFor(async () => (await webProcesses(web.child.pid!)).some((process) => process.pid !== victim && process.pid !== holding[1].pid), 'a replacement process', 20_000);
      const fresh = await openStream('cluster_user');
      fresh.close();
    } finally {
      for (const stream of streams) stream.close();
    }
  });

  it('SIGTERM stops every web process cleanly', async () => {
    const stream = await openStream('cluster_user');
    const code = await web.stop();
    expect(code).toBe(143);
    await waitFor(() => stream.closed, 'the stream to end');
    expect(web.output()).toMatch(/every web process has stopped/);
  });
});
