import { CLIENT_HEADER } from './edge-headers';

/**
 * Who is asking, for the per-client limits: the key the web launcher computed
 * from the socket (and from X-Forwarded-For only when TRUST_PROXY trusts the
 * peer), normalised, IPv6 grouped by prefix. The launcher deletes any copy a
 * client sent before setting it, so nothing a client writes can choose it.
 * A request that did not come through the launcher (there is none in
 * production) counts as one shared "unknown" client.
 */
export function clientId(request: Request): string {
  const key = request.headers.get(CLIENT_HEADER);
  // Bounded and key-safe: it becomes part of a Redis key.
  return key ? key.replace(/[^0-9A-Za-z.:/_-]/g, '').slice(0, 64) || 'unknown' : 'unknown';
}
