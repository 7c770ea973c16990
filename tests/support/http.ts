import { readSse } from './sse';
import { TEST_WEB_URL } from './env';

export async function post(username: string, body: unknown, init: { contentType?: string | null; raw?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.contentType !== null) headers['Content-Type'] = init.contentType ?? 'application/json';
  const response = await fetch(`${TEST_WEB_URL}/v1/profile/${username}`, {
    method: 'POST',
    headers,
    body: init.raw ?? JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', headers: response.headers, body: text ? JSON.parse(text) : null };
}

export async function get(path: string) {
  const response = await fetch(`${TEST_WEB_URL}${path}`);
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : null };
}

export type SseEvent = { event: string; data: string };

/** A minimal SSE reader: collects events and comments until closed. `path` may be a full URL. */
export function openStream(path: string) {
  const controller = new AbortController();
  const events: SseEvent[] = [];
  let comments = 0;
  let status = 0;
  let headers: Headers | undefined;
  let ended = false;
  const done = (async () => {
    const response = await fetch(path.startsWith('http') ? path : `${TEST_WEB_URL}${path}`, { signal: controller.signal });
    status = response.status;
    headers = response.headers;
    if (!response.body) return;
    await readSse(response.body, (message) => {
      comments += message.comments;
      if (message.data !== null) events.push({ event: message.event, data: message.data });
    });
  })()
    .catch((error: Error) => {
      if (error.name !== 'AbortError') throw error;
    })
    .finally(() => {
      ended = true;
    });
  return {
    /** True once the response ended (or never started). */
    ended: () => ended,
    events,
    profiles: () => events.filter((e) => e.event === 'profile').map((e) => JSON.parse(e.data) as { username: string; version: number; likes: number; followers: number }),
    comments: () => comments,
    status: () => status,
    headers: () => headers,
    close: async () => {
      controller.abort();
      await done;
    },
  };
}
