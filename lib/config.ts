import { z } from 'zod';
import { parseRedisUrl } from './redis-url';

// The only module that reads process.env: everything else asks for getConfig(),
// so a bad environment fails at start-up with one readable message.
const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL, e.g. postgres://postgres@localhost:5432/ripple')
    .default('postgres://postgres@localhost:5432/ripple'),
  // One Redis, or a Redis Cluster by its seed nodes: see lib/redis-url.ts and README "Redis Cluster".
  REDIS_URL: z
    .string()
    .superRefine((value, context) => {
      try {
        parseRedisUrl(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .default('redis://127.0.0.1:6379'),
  // Every key and pub/sub channel starts with this, so a test run and the demo on
  // one Redis never see each other (pub/sub ignores the Redis db number).
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+:$/, 'must be letters, digits, _ . - and end with ":", e.g. ripple:')
    .default('ripple:'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  // The web server's address. 127.0.0.1 keeps a developer's demo off the network;
  // 0.0.0.0 (or ::) serves every interface, as a container or a server behind a proxy needs.
  HOST: z.string().min(1).default('127.0.0.1'),
  // Web processes the launcher runs, all on PORT; 0 means one per core. 1 runs no cluster at all.
  WEB_CONCURRENCY: z.coerce.number().int().min(0).max(256).default(0),
  // Whose X-Forwarded-For to believe, as Express's "trust proxy": empty trusts no one
  // (the client is the socket's address); a hop count ("1": the nearest proxy); or
  // addresses, subnets and the names loopback, linklocal, uniquelocal, comma-separated.
  TRUST_PROXY: z
    .string()
    .regex(/^(\d+|[0-9A-Za-z.:/,\s]*)$/, 'must be a hop count, or addresses and subnets separated by commas, e.g. loopback, 10.0.0.0/8')
    .default(''),
  // IPv6 clients are grouped by this prefix for every per-client limit: one
  // subscriber usually holds a whole /56 or /64, so single addresses cost nothing to rotate.
  CLIENT_IPV6_PREFIX: z.coerce.number().int().min(32).max(128).default(56),
  // The origin people use, e.g. https://ripple.example.com: writes must come from it,
  // and its host is allowed. Unset: the local names on PORT.
  PUBLIC_ORIGIN: z
    .string()
    .regex(/^https?:\/\/[^/?#\s]+$/, 'must be a scheme and host with no path, e.g. https://ripple.example.com')
    .default(''),
  // Host names (with :port if you like) the web server answers to; any other Host is
  // refused before any route, which defeats DNS rebinding. Unset: localhost,
  // 127.0.0.1, ::1, HOST when it names one address, and PUBLIC_ORIGIN's host.
  ALLOWED_HOSTS: z.string().default(''),
  // Lets /metrics, /v1/status and /status be reached from other machines (they are
  // open on loopback only): send it as a Bearer token or as Basic auth's password.
  OPERATOR_TOKEN: z
    .string()
    .refine((value) => value === '' || value.length >= 16, 'must be at least 16 characters (try: openssl rand -hex 24)')
    .default(''),
  // Time a client gets to send its headers, and its whole request including the body.
  HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(120_000).default(10_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(300_000).default(15_000),
  // Open connections per web process; past it new ones are closed at once.
  MAX_CONNECTIONS: z.coerce.number().int().min(10).default(12_000),
  // Open SSE streams per web process, all clients together; past it /stream answers 503.
  MAX_STREAMS_PER_PROCESS: z.coerce.number().int().min(1).default(10_000),
  // gzip for pages, scripts and styles (pages), for every answer as Next does by default (all), or off.
  // Small JSON and SSE are never worth it with "pages".
  COMPRESSION: z.enum(['pages', 'all', 'off']).default('pages'),
  // Strict-Transport-Security max-age in seconds; 0 sends none. Set it only when every
  // visitor reaches Ripple over HTTPS (a TLS proxy in front).
  HSTS_MAX_AGE_S: z.coerce.number().int().min(0).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // json for machines (the default); pretty for a person at a terminal (`npm start` sets it).
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  // Anti-entropy: how often the worker re-reads every profile into the cache.
  RESYNC_INTERVAL_MS: z.coerce.number().int().min(1_000).default(30_000),
  // How long the cache remembers that a profile does not exist: a deletion's
  // versioned tombstone, and the negative cache for names that were never
  // created. Creating the name replaces the marker at once; this only bounds
  // how long an unused marker takes memory.
  CACHE_MISSING_TTL_MS: z.coerce.number().int().min(100).default(30_000),
  // Where the worker hears of changes: notify (a trigger's pg_notify, LISTEN) works on
  // every PostgreSQL as installed; logical (a pgoutput replication slot) needs
  // wal_level=logical and spares writers NOTIFY's commit lock. See README "Change source".
  CHANGE_SOURCE: z.enum(['notify', 'logical']).default('notify'),
  // How often the worker proves its LISTEN (or replication) connection is alive; a dead one is replaced.
  LISTEN_HEARTBEAT_MS: z.coerce.number().int().min(100).default(3_000),
  // Heartbeat comments on every SSE stream, well inside common proxy idle timeouts.
  SSE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(15_000).default(10_000),
  // Writes per client: a token bucket shared by all web processes. The defaults
  // allow far faster clicking than a person manages.
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(60),
  RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(20),
  // After SIGTERM, how long in-flight requests get before the web process exits
  // anyway (keep-alive clients would otherwise hold Next's graceful close open).
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(3_000),
  // How long a POST's body may take to arrive once its headers have: a client
  // that stops sending mid-body is answered 408 rather than holding a request open.
  REQUEST_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
  // Open SSE streams per client in one web process (a tab holds one).
  MAX_STREAMS_PER_CLIENT: z.coerce.number().int().min(1).default(32),
  // Reads (API GETs and pages) per client, shared by every web process through Redis:
  // generous, so only a flood notices. Counted in 10-second windows.
  READ_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(100),
  // The worker's Prometheus /metrics port; 0 turns it off. A port already taken
  // (another worker on this machine) is logged and skipped, never fatal.
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  // 127.0.0.1 keeps the figures private to the machine; 0.0.0.0 lets a remote Prometheus scrape them.
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // Where `npm start` keeps the data of the PostgreSQL and Redis it starts itself
  // when the local defaults are not running (git-ignored).
  LOCAL_DATA_DIR: z.string().min(1).default('.data'),
  // Concurrent POSTs share one transaction (one commit, one NOTIFY flush) when on;
  // off sends one UPDATE per request, the baseline the benchmark compares against.
  WRITE_COALESCING: z.enum(['on', 'off']).default('on'),
  // How long a write waits for company while other batches are running, and the largest batch.
  WRITE_COALESCING_WINDOW_MS: z.coerce.number().min(0).max(50).default(2),
  WRITE_COALESCING_MAX_BATCH: z.coerce.number().int().min(1).max(1_000).default(64),
  // Batches running at once per process; more only wait for connections or a hot row's lock.
  WRITE_COALESCING_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(8).default(2),
  // Postgres's own limits on a write (lock_timeout and statement_timeout on the
  // write path's connections): when one fires, Postgres rolls the write back, so
  // the answer "nothing was changed" is true. A row lock held longer than the
  // lock timeout belongs to someone else's long transaction, not to a busy row
  // (batches hold a lock for milliseconds). The client-side timer is a backstop
  // 2 s after the statement timeout, for a server that stops answering at all.
  WRITE_LOCK_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  WRITE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(4_000),
  // Writes waiting in this process for a batch slot; past it a write is refused at once (503).
  WRITE_QUEUE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  // The longest a write waits in that queue: still unsent by then, it is answered
  // 503 (nothing was changed). Longer than the lock timeout, so writes queued
  // behind a batch stuck on someone else's lock are still sent.
  WRITE_QUEUE_DEADLINE_MS: z.coerce.number().int().min(10).max(120_000).default(3_000),
  // on adds GET and POST /v1/baseline, a bare route returning constant JSON, for the benchmark's same-build baseline.
  BENCH_BASELINE_ROUTE: z.enum(['on', 'off']).default('off'),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set": `FOO= npm start` should give the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = configSchema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid environment; fix these variables and start again:\n${lines.join('\n')}`);
  }
  return result.data;
}

let cached: Config | undefined;

export function getConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
