'use client';

export type Counter = 'followers' | 'followings' | 'likes';

type Problem = { detail?: string; title?: string };

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
    default:
      return problem?.detail ?? `The server answered ${status}; nothing was changed. Try again.`;
  }
}

/**
 * Asks the server to change a counter. The answer is deliberately not shown:
 * the new number arrives through Postgres → worker → Redis → stream like
 * everyone else's, so every tab shows the same thing. Returns an error message, or null.
 */
export async function sendDelta(username: string, counter: Counter, delta: number): Promise<string | null> {
  try {
    const response = await fetch(`/v1/profile/${username}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ [counter]: delta }),
    });
    if (response.ok) return null;
    const problem = (await response.json().catch(() => null)) as Problem | null;
    return explain(response.status, problem, response.headers.get('Retry-After'));
  } catch {
    return 'Could not reach the server; check your connection and try again.';
  }
}
