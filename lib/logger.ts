import { createRequire } from 'node:module';
import path from 'node:path';
import pino from 'pino';
import { getConfig } from './config';

// pino: one JSON line per event for log shippers; pino-pretty runs in-process
// (not as a transport thread) so it also works inside the Next server bundle.
// pino-pretty is a development dependency: it is loaded only when asked for,
// from the project's node_modules at run time (no bundler sees the require),
// so a production install without it runs.
function loadPretty(): typeof import('pino-pretty') {
  const load = createRequire(path.join(process.cwd(), 'package.json'));
  try {
    return load('pino-pretty') as typeof import('pino-pretty');
  } catch {
    throw new Error('LOG_FORMAT=pretty needs pino-pretty, a development dependency: run `npm ci` (not --omit=dev), or use LOG_FORMAT=json');
  }
}
function createLogger(): pino.Logger {
  const { LOG_LEVEL, LOG_FORMAT } = getConfig();
  const options: pino.LoggerOptions = {
    level: LOG_LEVEL,
    base: { pid: process.pid },
    // Defence in depth: no code logs these today, and a future one must not leak
    // credentials or what a user sent. Connection URLs carry passwords.
    redact: { paths: ['password', '*.password', 'connectionString', '*.connectionString', 'DATABASE_URL', 'REDIS_URL', 'body', '*.body', 'headers.authorization', 'headers.cookie', '*.headers.authorization', '*.headers.cookie'], censor: '[redacted]' },
  };
  if (LOG_FORMAT === 'pretty') {
    return pino(options, loadPretty()({ sync: true, colorize: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  return pino(options);
}

// Dev-only hot reload re-evaluates modules; the cached logger survives it.
const globalForLogger = globalThis as unknown as { rippleLogger?: pino.Logger };
export const logger: pino.Logger = (globalForLogger.rippleLogger ??= createLogger());
