import { getConfig } from './config';
import { shutdownLiveHub } from './live/hub';
import { logger } from './logger';
import { retireWeb } from './ops/web-processes';

/**
 * Next stops accepting connections on SIGTERM/SIGINT and waits for open
 * responses; SSE responses never finish by themselves, so end them here.
 * Clients reconnect (to another process behind the balancer) and get a fresh snapshot.
 */
export function closeStreamsOnShutdown(): void {
  const shutdown = (signal: NodeJS.Signals) => {
    const streams = shutdownLiveHub();
    logger.info({ streams }, `web: ${signal} received; closed ${streams} open streams`);
    void retireWeb().catch(() => undefined);
    // Keep-alive clients that keep sending hold Next's graceful close open
    // forever; whatever is still connected after the grace period is cut off.
    const grace = getConfig().SHUTDOWN_GRACE_MS;
    setTimeout(() => {
      logger.info(`web: exiting ${grace} ms after ${signal}`);
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    }, grace).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
