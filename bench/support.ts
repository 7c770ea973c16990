// Shared by the bench orchestrator and its load processes: a clock that is
// comparable across processes, percentiles, and small HTTP and SSE clients on
// node:http (keep-alive agents; no fetch overhead in the measured path).
import http from 'node:http';

/** Milliseconds on a clock shared by every process on this machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export type Summary = { count: number; p50: number; p90: number; p99: number; max: number; mean: number };

export function summarize(values: number[]): Summary {
  if (values.length === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  // Nearest-rank percentiles: p99 of 2000 samples is the 1980th smallest.
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return { count: sorted.length, p50: rank(50), p90: rank(90), p99: rank(99), max: sorted[sorted.length - 1], mean };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function agent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

export type PostResult = { status: number; version: number | null; at: number };

/** POSTs JSON; resolves with the status, the committed version (200 only) and when the answer arrived. */
export function postJson(url: URL, body: unknown, via: http.Agent): Promise<PostResult> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent: via, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const at = now();
          const status = response.statusCode ?? 0;
          let version: number | null = null;
          if (status === 200) version = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version: number }).version;
          resolve({ status, version, at });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

export type Frame = { username: string; version: number; at: number };

export type SseClient = { close: () => void; closed: Promise<void> };

/**
 * One SSE connection; calls onFrame for every `event: profile` with its arrival
 * time. Resolves once the response headers are in.
 */
export function openSse(url: URL, via: http.Agent, onFrame: (frame: Frame) => void): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: via, headers: { accept: 'text/event-stream' } }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`GET ${url.pathname}${url.search} answered ${response.statusCode}`));
        response.resume();
        return;
      }
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (chunk: string) => {
        const at = now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!block.startsWith('event: profile\n')) continue;
          const data = block.slice(block.indexOf('data: ') + 6);
          const profile = JSON.parse(data) as { username: string; version: number };
          onFrame({ username: profile.username, version: profile.version, at });
        }
      });
      const closed = new Promise<void>((done) => response.on('close', () => done()));
      resolve({ close: () => request.destroy(), closed });
    });
    request.on('error', reject);
  });
}

/**
 * Remembers when each version of each profile first arrived, and lets a caller
 * wait for "version v or newer" (a coalesced write may arrive as a newer frame).
 */
export class FrameLog {
  private readonly seen = new Map<string, Frame[]>();
  private readonly waiters = new Map<string, Array<{ version: number; resolve: (at: number) => void }>>();

  record(frame: Frame): void {
    let frames = this.seen.get(frame.username);
    if (!frames) this.seen.set(frame.username, (frames = []));
    frames.push(frame);
    if (frames.length > 64) frames.splice(0, frames.length - 64);
    const waiting = this.waiters.get(frame.username);
    if (!waiting) return;
    const still = waiting.filter((waiter) => {
      if (frame.version < waiter.version) return true;
      waiter.resolve(frame.at);
      return false;
    });
    if (still.length) this.waiters.set(frame.username, still);
    else this.waiters.delete(frame.username);
  }

  /** When the first frame at or past this version arrived (now or later). */
  arrival(username: string, version: number): Promise<number> {
    const hit = this.seen.get(username)?.find((frame) => frame.version >= version);
    if (hit) return Promise.resolve(hit.at);
    return new Promise((resolve) => {
      let waiting = this.waiters.get(username);
      if (!waiting) this.waiters.set(username, (waiting = []));
      waiting.push({ version, resolve });
    });
  }

  latest(username: string): number {
    const frames = this.seen.get(username);
    return frames?.length ? frames[frames.length - 1].version : 0;
  }
}

/** Resolves with the value, or with `fallback` after ms. */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() => clearTimeout(timer));
}
