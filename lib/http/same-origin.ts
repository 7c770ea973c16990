import { getConfig } from '../config';
import { ProblemError } from './problem';
import { getSite, originAllowed } from './site';

/**
 * Refuses browser writes that another site started (CSRF). Browsers send
 * Sec-Fetch-Site and Origin on every cross-site POST; clients such as curl send
 * neither and are let through, since they cannot carry a victim's cookies anyway.
 * Origin is compared with the public origin (PUBLIC_ORIGIN, or the allowed
 * local names on PORT), never with Host: a page on a rebound name controls both.
 */
export function assertSameOrigin(request: Request): void {
  const fetchSite = request.headers.get('sec-fetch-site');
  if (fetchSite && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    throw refused(`Sec-Fetch-Site says ${fetchSite}`);
  }
  const origin = request.headers.get('origin');
  if (origin === null) return;
  if (!originAllowed(getSite(getConfig()), origin)) throw refused(`Origin ${origin.slice(0, 100)} is not this site`);
}

function refused(why: string): ProblemError {
  return new ProblemError('forbidden', `Cross-site writes are refused (${why}). Send the request from this site's pages or from a server.`);
}
