'use client';

export type Counter = 'followers' | 'followings' | 'likes';

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
    const problem = (await response.json().catch(() => null)) as { detail?: string } | null;
    return problem?.detail ?? `The server answered ${response.status}; try again.`;
  } catch {
    return 'Could not reach the server; check your connection and try again.';
  }
}
