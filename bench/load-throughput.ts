// Closed-loop write throughput: `concurrency` connections, each sending its
// next POST as soon as the last one is answered, for `seconds`.
import pg from 'pg';
import { getConfig } from '../lib/config';
import { createDeltaWriter, type DeltaWriter } from '../lib/writes/apply-deltas';
import { agent, now, postJson } from './support';

export type ThroughputParams = { baseUrl: string; usernames: string[]; concurrency: number; seconds: number };

export async function writeThroughput(params: ThroughputParams) {
  const via = agent(params.concurrency);
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const urls = params.usernames.map((username) => new URL(`/v1/profile/${username}`, params.baseUrl));
  const start = now();
  const end = start + params.seconds * 1_000;
  const loop = async () => {
    while (now() < end) {
      const url = urls[Math.floor(Math.random() * urls.length)];
      const sent = now();
      try {
        const answer = await postJson(url, { likes: 1 }, via);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        latencies.push(answer.at - sent);
      } catch {
        statuses[0] = (statuses[0] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, loop));
  const elapsed = now() - start;
  via.destroy();
  return { latencies, statuses, elapsedMs: elapsed, ok: statuses[200] ?? 0 };
}

export type WritePathParams = { databaseUrl: string; usernames: string[]; concurrency: number; seconds: number; coalescing: 'on' | 'off' };

// One pool and writer per setting, kept for the life of the load process so
// that no slice pays for connecting. The pool is the size the web process uses.
const writers = new Map<string, DeltaWriter>();

function writerFor(params: WritePathParams): DeltaWriter {
  const key = `${params.databaseUrl} ${params.coalescing}`;
  let writer = writers.get(key);
  if (!writer) {
    const pool = new pg.Pool({ connectionString: params.databaseUrl, max: 10 });
    // The same settings the bench's web servers read: they inherit this environment too.
    const config = getConfig();
    const options = { windowMs: config.WRITE_COALESCING_WINDOW_MS, maxBatch: config.WRITE_COALESCING_MAX_BATCH, maxInFlight: config.WRITE_COALESCING_MAX_IN_FLIGHT };
    writer = createDeltaWriter(pool, { coalescing: params.coalescing, ...options });
    writers.set(key, writer);
  }
  return writer;
}

/**
 * The write path without HTTP: `concurrency` callers in this process, each
 * calling the endpoint's own applyDeltas machinery (createDeltaWriter) as soon
 * as its last call returned. Shows what Postgres and coalescing allow once
 * Next's per-request cost is out of the way.
 */
export async function writePathThroughput(params: WritePathParams) {
  const writer = writerFor(params);
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const before = writer.stats();
  const start = now();
  const end = start + params.seconds * 1_000;
  const loop = async () => {
    while (now() < end) {
      const username = params.usernames[Math.floor(Math.random() * params.usernames.length)];
      const sent = now();
      try {
        const result = await writer.apply({ username, deltas: { likes: 1 } });
        outcomes[result.kind] = (outcomes[result.kind] ?? 0) + 1;
        latencies.push(now() - sent);
      } catch {
        outcomes.error = (outcomes.error ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: params.concurrency }, loop));
  const after = writer.stats();
  return { latencies, outcomes, elapsedMs: now() - start, ok: outcomes.applied ?? 0, batches: after.batches - before.batches };
}
