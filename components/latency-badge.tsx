import type { Arrival } from './use-live-profiles';

/**
 * "seen 2 ms after commit": from the row's updatedAt (database clock) to this
 * tab receiving the change (browser clock). Meaningful only when both clocks
 * are one machine's, as in the demo; a negative or huge gap means they differ.
 */
export function LatencyBadge({ arrival }: { arrival: Arrival | null }) {
  if (!arrival) return null;
  const skewed = arrival.ms < 0 || arrival.ms > 60_000;
  const text = skewed ? 'clocks differ; latency unknown' : `seen ${arrival.ms < 10 ? arrival.ms.toFixed(0) : Math.round(arrival.ms)} ms after commit`;
  return (
    <span
      data-testid="latency-badge"
      data-ms={arrival.ms}
      title="From the database's commit time to this tab receiving the change. Both clocks are this machine's in the demo; across machines they would need to agree."
      className="inline-flex items-center rounded-full bg-sky-50 px-2.5 py-1 text-xs font-medium text-sky-700 tabular-nums dark:bg-sky-950 dark:text-sky-300"
    >
      {text}
    </span>
  );
}
