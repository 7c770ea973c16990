import { getConfig } from './config';
import { shutdownLiveHub } from './live/hub';
import { logger } from './logger';
import { retireWeb } from './ops/web-processes';

/**
 * Ends every open SSE stream of this process and takes it off the status page.
 * Clients reconnect (to another process) and get a fresh snapshot. The web
 * launcher calls it when it stops; SSE responses never finish by themselves.
 */
export async function stopServingStreams(reason: string): Promise<number> {
  const streams = shutdownLiveHub();
  logger.info({ streams }, `web: ${reason}; closed ${streams} open streams`);
  await retireWeb().catch(() => undefined);
  return streams;
}

/**
 * For a Next server started without the web launcher (`next start` by hand):
 * Next stops accepting connections on SIGTERM/SIGINT and waits for open
 * responses, so end the streams here and exit after the grace period.
 */
export function closeStreamsOnShutdown(): void {
  const shutdown = (signal: NodeJS.Signals) => {
    void stopServingStreams(`${signal} received`);
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
