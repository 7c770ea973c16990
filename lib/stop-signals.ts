// SIGINT and SIGTERM for a long-running process: the first starts a clean
// shutdown, a second one forces it. A terminal's Ctrl-C reaches every process
// of its group, and a supervisor (concurrently, under `npm start`) forwards it
// to its children as well, so one keypress arrives twice within milliseconds:
// a repeat that soon is the same request, not a second one.
const SAME_REQUEST_MS = 1_000;

export function onStopSignals(handlers: { stop(signal: NodeJS.Signals): void; force(signal: NodeJS.Signals): void }): void {
  let first: number | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (first === null) {
      first = Date.now();
      handlers.stop(signal);
    } else if (Date.now() - first > SAME_REQUEST_MS) {
      handlers.force(signal);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
