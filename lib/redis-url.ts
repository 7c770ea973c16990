// What REDIS_URL names: one Redis (redis:// or rediss://, as ioredis reads it)
// or a Redis Cluster, given by seed nodes: redis-cluster://[user:password@]host:port,host:port
// (rediss-cluster:// for TLS). A cluster tells its clients the rest of its nodes, so the
// seeds need not be all of them; two or three survive the loss of one.

export type RedisTarget =
  | { cluster: false; url: string }
  | { cluster: true; nodes: Array<{ host: string; port: number }>; username?: string; password?: string; tls: boolean };

const CLUSTER_SCHEME = /^(rediss?)-cluster:\/\//;

export const REDIS_URL_HELP =
  'must be redis://host:port (one Redis), rediss:// for TLS, or redis-cluster://host:port,host:port (a Redis Cluster, its seed nodes)';

/** Parses REDIS_URL; throws an Error whose message says what is wrong with it. */
export function parseRedisUrl(value: string): RedisTarget {
  if (/^rediss?:\/\//.test(value)) return { cluster: false, url: value };
  const scheme = CLUSTER_SCHEME.exec(value);
  if (!scheme) throw new Error(REDIS_URL_HELP);
  let rest = value.slice(scheme[0].length).replace(/\/$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(auth.slice(colon + 1)) || undefined;
  }
  const nodes = rest.split(',').map((seed) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(seed.trim());
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) throw new Error(`names "${seed}" as a cluster node; give each as host:port, e.g. redis-cluster://10.0.0.1:6379,10.0.0.2:6379`);
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  });
  return { cluster: true, nodes, username, password, tls: scheme[1] === 'rediss' };
}

/** The URL with any password replaced, for logs. */
export function redactRedisUrl(value: string): string {
  return value.replace(/\/\/([^@/]*:)[^@/]*@/, '//$1***@');
}
