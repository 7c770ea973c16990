import type { Config } from '../config';

/**
 * Which Host headers this server answers to, and which origins may write.
 * Browsers send the name they resolved in Host, so a page on an attacker's name
 * that resolves to this server (DNS rebinding) is refused before any route by
 * the allow-list; writes are compared with the public origin, never with the
 * Host header a rebound page controls.
 */
export type Site = { hosts: ReadonlySet<string>; origins: ReadonlySet<string>; explicit: boolean };

// The machine's own names: a page served from them is this app, never an attacker's.
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/** "Example.com:3000" → "example.com:3000"; "::1" → "[::1]"; a bare IPv6 address gets brackets. */
function normaliseHost(host: string): string {
  const lower = host.trim().toLowerCase();
  return lower.includes(':') && !lower.startsWith('[') && lower.split(':').length > 2 ? `[${lower}]` : lower;
}

/** The host part without a port: "[::1]:3000" → "[::1]", "a.b:80" → "a.b". */
function hostname(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
}

export function siteFromConfig(config: Pick<Config, 'HOST' | 'PORT' | 'ALLOWED_HOSTS' | 'PUBLIC_ORIGIN'>): Site {
  const hosts = new Set(LOOPBACK_NAMES);
  const listed = config.ALLOWED_HOSTS.split(',').map((entry) => entry.trim()).filter(Boolean).map(normaliseHost);
  for (const host of listed) hosts.add(host);
  const bound = normaliseHost(config.HOST);
  if (!WILDCARDS.has(bound)) hosts.add(bound);
  const origins = new Set<string>();
  for (const host of hosts) origins.add(new URL(`http://${/:\d+$/.test(host) && !host.endsWith(']') ? host : `${host}:${config.PORT}`}`).origin);
  if (config.PUBLIC_ORIGIN) {
    const publicOrigin = new URL(config.PUBLIC_ORIGIN);
    hosts.add(normaliseHost(publicOrigin.hostname));
    origins.add(publicOrigin.origin);
  }
  return { hosts, origins, explicit: listed.length > 0 || config.PUBLIC_ORIGIN !== '' };
}

/** Whether a Host header names this site: an entry matches its name on any port, or exactly with its port. */
export function hostAllowed(site: Site, host: string | undefined): boolean {
  if (!host) return false;
  const normal = normaliseHost(host);
  return site.hosts.has(normal) || site.hosts.has(hostname(normal));
}

/** Whether an Origin header is one this site's pages are served from. */
export function originAllowed(site: Site, origin: string): boolean {
  try {
    return site.origins.has(new URL(origin).origin);
  } catch {
    // "null" (sandboxed frames, file://) and garbage are not this site.
    return false;
  }
}

let cached: Site | undefined;

/** The site of this process's configuration, computed once. */
export function getSite(config: Pick<Config, 'HOST' | 'PORT' | 'ALLOWED_HOSTS' | 'PUBLIC_ORIGIN'>): Site {
  cached ??= siteFromConfig(config);
  return cached;
}
