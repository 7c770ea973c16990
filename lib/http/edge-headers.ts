// Headers the web launcher sets for the app after deleting any copy a client
// sent, so route handlers can trust them. Kept apart from the launcher's own
// modules so that reading them pulls nothing into the Next bundle.

/** The per-client limit key (see lib/http/client-address.ts). */
export const CLIENT_HEADER = 'x-ripple-client';

/** "1" when the request may see operator detail: from loopback, or with OPERATOR_TOKEN. */
export const OPERATOR_HEADER = 'x-ripple-operator';

export function isOperatorRequest(headers: Pick<Headers, 'get'>): boolean {
  return headers.get(OPERATOR_HEADER) === '1';
}
