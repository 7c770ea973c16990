'use client';

import type { Profile } from '@/lib/profile';

export type Counter = 'followers' | 'followings' | 'likes';

type Problem = { detail?: string; title?: string };

export type SendResult = { profile: Profile; error: null } | { profile: null; error: string };

const ATTEMPTS = 3;
const TIMEOUT_MS = 15_000;
const UNREACHABLE = 'Could not reach the server, so your change may not have been made. Check your connection and try again.';
const UNKNOWN = 'The server could not tell whether your change was saved. If it was, the number above shows it; if not, try again.';

/** A sentence for the person who clicked, from the server's problem+json. */
export function explain(status: number, problem: Problem | null, retryAfter: string | null): string {
  switch (status) {
    case 409:
      // The server names the counter: "Following can't go below zero; nothing was changed."
      return problem?.detail ?? "That counter can't go below zero; nothing was changed.";
    case 429: {
      const seconds = Number(retryAfter);
      const wait = Number.isFinite(seconds) && seconds > 0 ? `${seconds} s` : 'a moment';
      return `Too many clicks at once: nothing was changed. Wait ${wait} and try again.`;
    }
    case 503:
      return problem?.detail ?? 'The database is not reachable right now; nothing was changed. Try again in a few seconds.';
    case 504:
      return UNKNOWN;
    default:
      return problem?.detail ?? `The server answered ${status}. If your change was saved, the number above shows it; if not, try again.`;
  }
}

/** crypto.randomUUID exists only in secure contexts; a page on a LAN address over http is not one. */
function idempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the server to change a counter and returns the row as committed, or a
 * sentence saying why not. One Idempotency-Key per click: when the answer is
 * lost (network error, timeout, or a 504 whose outcome the server does not
 * know), the same request is sent again, and the server never applies it twice.
 */
export async function sendDelta(username: string, counter: Counter, delta: number): Promise<SendResult> {
  const key = idempotencyKey();
  for (let attempt = 1; ; attempt += 1) {
    let response: Response | null = null;
    try {
      response = await fetch(`/v1/profile/${username}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify({ [counter]: delta }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      // No answer: the write may or may not have happened; the same key makes asking again safe.
    }
    if (response?.ok) return { profile: (await response.json()) as Profile, error: null };
    if ((response === null || response.status === 504) && attempt < ATTEMPTS) {
      await pause(250 * 2 ** attempt);
      continue;
    }
    if (response === null) return { profile: null, error: UNREACHABLE };
    const problem = (await response.json().catch(() => null)) as Problem | null;
    return { profile: null, error: explain(response.status, problem, response.headers.get('Retry-After')) };
  }
}
