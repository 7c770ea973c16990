// Runs once when a Next server process starts.
export async function register(): Promise<void> {
  // Only the Node.js server holds SSE streams (the edge runtime has no process signals).
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { shutdownLiveHub } = await import('./lib/live');
  const { getConfig } = await import('./lib/config');
  const { logger } = await import('./lib/logger');
  const shutdown = (signal: string) => {
    // Next stops accepting connections and waits for open responses; SSE
    // responses never finish by themselves, so end them here. Clients reconnect
    // (to another process behind the balancer) and get a fresh snapshot.
    const streams = shutdownLiveHub();
    logger.info({ streams }, `web: ${signal} received; closed ${streams} open streams`);
    // Keep-alive clients that keep sending hold Next's graceful close open
    // forever; whatever is still connected after the grace period is cut off.
    const grace = getConfig().SHUTDOWN_GRACE_MS;
    setTimeout(() => {
      logger.info(`web: exiting ${grace} ms after ${signal}`);
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    }, grace).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
