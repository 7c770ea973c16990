// Sequential keep-alive requests on one connection: the per-request figures
// (latency here, CPU from the orchestrator) for Ripple's routes and the bare
// baseline route, measured the same way.
import http from 'node:http';
import { agent, now } from './support';

export type SequentialParams = { url: string; method: 'GET' | 'POST'; body?: string; count: number; warmup: number };

function once(url: URL, method: string, body: string | undefined, via: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const request = http.request(url, { method, agent: via, headers: { 'accept-encoding': 'gzip', ...headers } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

export async function sequentialRequests(params: SequentialParams): Promise<{ latencies: number[]; statuses: Record<string, number> }> {
  const via = agent(1);
  const url = new URL(params.url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  for (let i = 0; i < params.warmup + params.count; i += 1) {
    const sent = now();
    const status = await once(url, params.method, params.body, via);
    if (i < params.warmup) continue;
    latencies.push(now() - sent);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  via.destroy();
  return { latencies, statuses };
}
