import pino from 'pino';
import pretty from 'pino-pretty';
import { getConfig } from './config';

// pino: one JSON line per event for log shippers; pino-pretty runs in-process
// (not as a transport thread) so it also works inside the Next server bundle.
function createLogger(): pino.Logger {
  const { LOG_LEVEL, LOG_FORMAT } = getConfig();
  const options: pino.LoggerOptions = { level: LOG_LEVEL, base: { pid: process.pid } };
  if (LOG_FORMAT === 'pretty') {
    return pino(options, pretty({ sync: true, colorize: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  return pino(options);
}

// Dev-only hot reload re-evaluates modules; the cached logger survives it.
const globalForLogger = globalThis as unknown as { rippleLogger?: pino.Logger };
export const logger: pino.Logger = (globalForLogger.rippleLogger ??= createLogger());
