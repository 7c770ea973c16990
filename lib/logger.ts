import pino from 'pino';
import pretty from 'pino-pretty';
import { getConfig } from './config';

// pino: one JSON line per event for log shippers; pino-pretty runs in-process
// (not as a transport thread) so it also works inside the Next server bundle.
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
    return pino(options, pretty({ sync: true, colorize: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  return pino(options);
}

// Dev-only hot reload re-evaluates modules; the cached logger survives it.
const globalForLogger = globalThis as unknown as { rippleLogger?: pino.Logger };
export const logger: pino.Logger = (globalForLogger.rippleLogger ??= createLogger());
