// Runs once when a Next server process starts.
export async function register(): Promise<void> {
  // Written as an `if` on NEXT_RUNTIME so the edge build drops the Node-only import.
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { closeStreamsOnShutdown } = await import('./lib/shutdown');
    closeStreamsOnShutdown();
  }
}
