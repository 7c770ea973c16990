// What the web launcher checks on every request before Next sees it. It runs
// where the socket is, so it alone can say who the client is; and whatever it
// refuses costs microseconds instead of a trip through Next's route machinery.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import compression from 'compression';
import type { Config } from '../lib/config';
import { clientAddress, isLoopback, limitKey, type TrustProxy } from '../lib/http/client-address';
import { CLIENT_HEADER, OPERATOR_HEADER } from '../lib/http/edge-headers';
import { problemBody, type ProblemCode } from '../lib/http/problem';
import type { ReadLimiter } from '../lib/http/read-limit';
import { hostAllowed, type Site } from '../lib/http/site';
import { logger } from '../lib/logger';

export type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export type EdgeOptions = {
  config: Config;
  site: Site;
  trust: TrustProxy | null;
  readLimiter: ReadLimiter;
  /** Prometheus text for this web server (every process of it, when clustered). */
  metrics: () => Promise<{ body: string; contentType: string }>;
  next: Handler;
  stopping: () => boolean;
};

/** Operator endpoints: open from loopback, elsewhere only with OPERATOR_TOKEN. */
const OPERATOR_PATHS = new Set(['/metrics', '/v1/status', '/status']);
// Paths that are neither a page nor a profile read (pages and /v1/profile/* count as reads).
const NOT_READS = new Set(['/stream', '/healthz', '/metrics', '/v1/status', '/status']);
const SOCKET_CLIENT = Symbol('ripple.client');
const FORWARDED = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded'];

export function sendProblem(response: ServerResponse, code: ProblemCode, detail: string, headers: Record<string, string> = {}): void {
  const problem = problemBody(code, detail);
  const body = JSON.stringify(problem);
  response.writeHead(problem.status, {
    'Content-Type': 'application/problem+json',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  response.end(body);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Bearer <token>, or Basic with the token as password (so a browser can open /status from elsewhere). */
export function tokenMatches(authorization: string | undefined, expected: Buffer | null): boolean {
  if (!authorization || !expected) return false;
  const [scheme, value = ''] = authorization.split(' ', 2);
  let token = value.trim();
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    token = decoded.slice(decoded.indexOf(':') + 1);
  } else if (!/^bearer$/i.test(scheme)) return false;
  return timingSafeEqual(digest(token), expected);
}

/** The path Next will route, for the launcher's own decisions; null when a percent-escape is malformed. */
export function routedPath(url: string): string | null {
  const query = url.indexOf('?');
  let path = query === -1 ? url : url.slice(0, query);
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      return null;
    }
  }
  // Next routes //status as /status, and /status/ redirects there.
  if (path.startsWith('//')) path = path.replace(/^\/+/, '/');
  if (path.length > 1 && path.endsWith('/')) path = path.replace(/\/+$/, '');
  return path;
}

function isRead(method: string | undefined, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (path.startsWith('/v1/profile/')) return true;
  // Pages: not Next's assets, not the API, not a public file (usernames have no dots).
  return !path.startsWith('/_next/') && !path.startsWith('/v1/') && !NOT_READS.has(path) && !path.includes('.');
}

// Next releases the zlib stream of a response whose client went away (it would
// otherwise leak past GC); the same few lines, for the compression done here.
function releaseCompression(response: ServerResponse): void {
  const noop = () => {};
  const maybeStream = response.on('drain', noop);
  if (maybeStream === response || !(maybeStream instanceof Duplex)) {
    response.off('drain', noop);
    return;
  }
  maybeStream.destroy();
}

// A body this small that is still on its way after the answer is worth reading to the end.
const DRAIN_BYTES = 64 * 1024;

/**
 * After an answer sent before its request's body arrived (a refusal that did
 * not need it). A small body is read and dropped, so a keep-alive client can
 * send its next request on this connection: closing it under the client made
 * that next request fail ("other side closed"). A body that does not finish
 * within a second, a large one or one of unknown length is not waited for:
 * Node would wait without a deadline, so the connection closes.
 */
function closeIfIncomplete(request: IncomingMessage): void {
  if (request.complete) return;
  const socket = request.socket;
  const close = () => {
    socket.end();
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
  const length = Number(request.headers['content-length']);
  if (!(length <= DRAIN_BYTES)) return close();
  const deadline = setTimeout(close, 1_000);
  deadline.unref();
  request.once('end', () => clearTimeout(deadline));
  request.resume();
}

export function createEdge(options: EdgeOptions): { handle: (request: IncomingMessage, response: ServerResponse) => void; openStreams: () => number } {
  const { config, site, trust, readLimiter, next } = options;
  const expectedToken = config.OPERATOR_TOKEN ? digest(config.OPERATOR_TOKEN) : null;
  const hsts = config.HSTS_MAX_AGE_S > 0 ? `max-age=${config.HSTS_MAX_AGE_S}` : null;
  const compress = config.COMPRESSION === 'off' ? null : compression({ threshold: 1024 });
  let openStreams = 0;
  type Client = { address: string; key: string };
  const identify = (request: IncomingMessage, trusted: TrustProxy | null): Client => {
    const address = clientAddress(request, trusted);
    return { address, key: limitKey(address, config.CLIENT_IPV6_PREFIX) };
  };

  const forward = (request: IncomingMessage, response: ServerResponse) => {
    next(request, response).catch((error: unknown) => {
      logger.error({ err: error }, 'web: Next failed to answer a request');
      if (!response.headersSent) sendProblem(response, 'internal', 'Something went wrong on our side; nothing was changed. Try again.');
      else response.destroy();
    });
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (options.stopping()) {
      sendProblem(response, 'unavailable', 'This web process is shutting down; try again in a moment.', { 'Retry-After': '1', Connection: 'close' });
      return;
    }
    const headers = request.headers;
    if (!hostAllowed(site, headers.host)) {
      sendProblem(response, 'misdirected', `This server does not answer to the host "${String(headers.host ?? '').slice(0, 100)}". Its operator lists the names it serves in ALLOWED_HOSTS or PUBLIC_ORIGIN.`);
      return;
    }
    // Trusting no proxy, the client is the socket's: worked out once per connection, not per request.
    const socket = request.socket as typeof request.socket & { [SOCKET_CLIENT]?: { address: string; key: string } };
    const { address, key: client } = trust === null ? (socket[SOCKET_CLIENT] ??= identify(request, null)) : identify(request, trust);
    if (trust === null) {
      // Said by the client itself: it means nothing, and must not reach Next, which would believe it.
      for (const name of FORWARDED) if (headers[name] !== undefined) delete headers[name];
    } else if (headers['x-forwarded-host'] !== undefined && !hostAllowed(site, String(headers['x-forwarded-host']).split(',')[0])) {
      sendProblem(response, 'misdirected', 'The forwarded host is not one this server answers to (ALLOWED_HOSTS, PUBLIC_ORIGIN).');
      return;
    }
    headers[CLIENT_HEADER] = client;
    if (headers[OPERATOR_HEADER] !== undefined) delete headers[OPERATOR_HEADER];

    const path = routedPath(request.url ?? '/');
    if (path === null) {
      sendProblem(response, 'bad-request', 'The URL has a malformed percent-escape (such as %ff or a lone %); encode the path as UTF-8.');
      return;
    }

    if (OPERATOR_PATHS.has(path) || path === '/healthz') {
      const operator = isLoopback(address) || tokenMatches(headers.authorization, expectedToken);
      if (operator) headers[OPERATOR_HEADER] = '1';
      else if (path !== '/healthz') {
        if (expectedToken) {
          sendProblem(response, 'unauthorized', 'Send the operator token (OPERATOR_TOKEN) as a Bearer token, or as the password of Basic auth.', {
            'WWW-Authenticate': 'Basic realm="Ripple operators", charset="UTF-8"',
          });
        } else {
          sendProblem(response, 'forbidden', 'This operator page is open only from the machine Ripple runs on; its operator can set OPERATOR_TOKEN to open it elsewhere.');
        }
        return;
      }
      if (path === '/metrics') {
        options.metrics().then(
          ({ body, contentType }) => {
            response.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
            response.end(body);
          },
          (error: Error) => {
            logger.warn({ err: error.message }, 'web: could not gather the metrics of every web process');
            sendProblem(response, 'unavailable', 'The metrics of every web process could not be gathered; try again.', { 'Retry-After': '1' });
          },
        );
        return;
      }
    } else if (path === '/stream' && request.method === 'GET') {
      if (openStreams >= config.MAX_STREAMS_PER_PROCESS) {
        sendProblem(response, 'unavailable', `This web process holds ${openStreams} live streams, its limit; try again shortly.`, { 'Retry-After': '5' });
        return;
      }
      openStreams += 1;
      response.once('close', () => (openStreams -= 1));
    } else if (isRead(request.method, path)) {
      const wait = readLimiter.take(client);
      if (wait > 0) {
        sendProblem(response, 'too-many-requests', `Too many reads from you at once; try again in ${wait} s.`, { 'Retry-After': String(wait) });
        return;
      }
    }

    // An answer sent before the body arrived (429, 413, 415...) must not leave the
    // connection waiting for the rest of it: Node would wait without a deadline.
    if (!request.complete) response.once('finish', () => closeIfIncomplete(request));
    if (hsts) response.setHeader('Strict-Transport-Security', hsts);
    // Small JSON gains nothing from gzip and SSE must not be buffered; pages, scripts and styles do gain.
    if (compress && (config.COMPRESSION === 'all' || !(path.startsWith('/v1/') || NOT_READS.has(path)))) {
      compress(request as never, response as never, () => forward(request, response));
      response.once('close', () => {
        if (!response.writableFinished) releaseCompression(response);
      });
      return;
    }
    forward(request, response);
  };

  return { handle, openStreams: () => openStreams };
}
