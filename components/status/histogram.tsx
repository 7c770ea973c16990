'use client';

import { formatValue } from './axis';
import { ChartCard } from './chart-card';

const HEIGHT = 176;
const FONT = 12;

/** How commit→stream latencies spread over the window, one bar per bucket, drawn at the measured width like the line charts. */
export function Histogram({ boundsMs, counts, className }: { boundsMs: number[]; counts: number[]; className?: string }) {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const top = Math.max(1, ...counts);
  const last = boundsMs[boundsMs.length - 1];
  const labels = [...boundsMs.map((bound) => (bound >= 1000 ? `≤${bound / 1000}s` : `≤${bound}`)), `>${last >= 1000 ? `${last / 1000}s` : last}`];

  return (
    <ChartCard
      testId="chart-latency-histogram"
      title="Commit → stream latency, last minutes"
      unit="changes per bucket (ms)"
      note={`${total.toLocaleString('en-US')} changes heard by this web process (it hears only profiles its streams watch)`}
      height={HEIGHT}
      className={className}
    >
      {(width) => {
        const barW = width / counts.length;
        // Every label when they fit at 12 px, every other one on a narrow phone.
        const every = barW >= 34 ? 1 : 2;
        return (
          <svg
            data-testid="plot"
            width={width}
            height={HEIGHT}
            fontSize={FONT}
            role="img"
            aria-label={`Latency histogram: ${counts.map((count, index) => `${labels[index]} ms: ${count}`).join(', ')}`}
            data-total={total}
          >
            <line x1={0} x2={width} y1={HEIGHT - 22} y2={HEIGHT - 22} strokeOpacity={0.45} className="stroke-slate-500 dark:stroke-slate-400" />
            {counts.map((count, index) => {
              const height = (count / top) * (HEIGHT - 44);
              const x = index * barW;
              return (
                <g key={labels[index]}>
                  <rect x={x + 2} y={HEIGHT - 22 - height} width={Math.max(1, barW - 4)} height={Math.max(height, count ? 1 : 0)} rx={2} className="fill-sky-500 dark:fill-sky-400" />
                  {count > 0 && (
                    <text x={x + barW / 2} y={HEIGHT - 26 - height} textAnchor="middle" className="fill-slate-600 dark:fill-slate-300">
                      {formatValue(count)}
                    </text>
                  )}
                  {index % every === 0 && (
                    <text data-testid="x-tick" x={x + barW / 2} y={HEIGHT - 6} textAnchor="middle" className="fill-slate-500 dark:fill-slate-400">
                      {labels[index]}
                    </text>
                  )}
                </g>
              );
            })}
          </svg>
        );
      }}
    </ChartCard>
  );
}
