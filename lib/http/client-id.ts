/**
 * Who is asking, for rate limits. Next sets x-forwarded-for to the socket's
 * address when the request has none; behind a proxy the nearest hop is the last
 * entry. A client talking to Next directly can set the header itself, so put a
 * proxy that overwrites it in front of any public deployment.
 */
export function clientId(request: Request): string {
  const forwarded = request.headers.get('x-forwarded-for') ?? '';
  const hops = forwarded.split(',').map((hop) => hop.trim()).filter(Boolean);
  const last = hops.at(-1) ?? 'unknown';
  // Bounded and key-safe: it becomes part of a Redis key.
  return last.replace(/[^0-9A-Za-z.:_-]/g, '').slice(0, 64) || 'unknown';
}
