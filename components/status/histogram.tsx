// How commit→stream latencies spread over the window, one bar per bucket.
export function Histogram({ boundsMs, counts }: { boundsMs: number[]; counts: number[] }) {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const top = Math.max(1, ...counts);
  const labels = [...boundsMs.map((bound) => `≤${bound >= 1000 ? `${bound / 1000}s` : bound}`), `>${boundsMs[boundsMs.length - 1] / 1000}s`];
  const W = 600;
  const H = 170;
  const barW = (W - 20) / counts.length;

  return (
    <figure data-testid="chart-latency-histogram" data-total={total} className="rounded-2xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <figcaption className="flex items-baseline justify-between gap-2">
        <span className="font-semibold">Commit → stream latency, last minutes</span>
        <span className="text-xs text-slate-500 dark:text-slate-400">{total.toLocaleString('en-US')} changes · ms</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Latency histogram: ${counts.map((count, index) => `${labels[index]} ms: ${count}`).join(', ')}`}
        className="mt-2 h-auto w-full"
      >
        {counts.map((count, index) => {
          const height = (count / top) * (H - 42);
          const x = 10 + index * barW;
          return (
            <g key={labels[index]}>
              <rect x={x + 3} y={H - 22 - height} width={barW - 6} height={Math.max(height, count ? 1 : 0)} rx={3} className="fill-sky-500 dark:fill-sky-400" />
              {count > 0 && (
                <text x={x + barW / 2} y={H - 26 - height} textAnchor="middle" fontSize={11} className="fill-slate-600 dark:fill-slate-300">
                  {count}
                </text>
              )}
              <text x={x + barW / 2} y={H - 6} textAnchor="middle" fontSize={11} className="fill-slate-500 dark:fill-slate-400">
                {labels[index]}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
