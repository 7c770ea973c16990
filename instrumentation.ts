// Runs once when a Next server process starts.
export async function register(): Promise<void> {
  // Written as an `if` on NEXT_RUNTIME so the edge build drops the Node-only import.
  // Not while `next build` collects page data: a build holds no streams and needs no Redis.
  if (process.env.NEXT_RUNTIME === 'nodejs' && process.env.NEXT_PHASE !== 'phase-production-build') {
    // Every web process subscribes, announces itself and counts changes from the
    // start, so the status page and /metrics list it before anyone opens a stream.
    const { registerWebMetrics } = await import('./lib/ops/web-metrics');
    registerWebMetrics();
    const { getLiveHub } = await import('./lib/live/hub');
    getLiveHub();
    // The web launcher (server/web.ts) owns signals; a bare `next start` needs this.
    if (process.env.RIPPLE_WEB_LAUNCHER !== '1') {
      const { closeStreamsOnShutdown } = await import('./lib/shutdown');
      closeStreamsOnShutdown();
    }
  }
}
