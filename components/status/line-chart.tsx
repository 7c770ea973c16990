'use client';

import { formatValue, logAxis, timeTicks, valueAxis } from './axis';
import { ChartCard } from './chart-card';
import { latest, overlaps, trace, type Join, type SeriesPoint } from './series';

// Hand-drawn SVG at the measured width (one unit per pixel, so 12 px text stays
// 12 px on a phone); d3-scale supplies the domain and the ticks.

// Literal class names, so Tailwind finds them when it scans this file.
const COLORS = {
  sky: { line: 'stroke-sky-500 dark:stroke-sky-400', fill: 'fill-sky-500 dark:fill-sky-400' },
  violet: { line: 'stroke-violet-500 dark:stroke-violet-400', fill: 'fill-violet-500 dark:fill-violet-400' },
  amber: { line: 'stroke-amber-500 dark:stroke-amber-400', fill: 'fill-amber-500 dark:fill-amber-400' },
  emerald: { line: 'stroke-emerald-500 dark:stroke-emerald-400', fill: 'fill-emerald-500 dark:fill-emerald-400' },
  rose: { line: 'stroke-rose-500 dark:stroke-rose-400', fill: 'fill-rose-500 dark:fill-rose-400' },
  slate: { line: 'stroke-slate-500 dark:stroke-slate-300', fill: 'fill-slate-500 dark:fill-slate-300' },
} as const;

/**
 * One look per position in the chart, each different in dash, width or halo:
 * where lines coincide, the first one's pale halo frames the others, dashes and
 * dots drawn over it alternate colours, and markers shrink so coinciding dots
 * read as rings.
 */
type Look = { dash?: string; width: number; halo?: number; round?: boolean; r: number };
const LOOKS: Look[] = [
  { width: 2, halo: 9, r: 5 },
  // Dots under dashes: each dash covers one or two dots and every gap shows one.
  { dash: '0.1 5', width: 3.5, round: true, r: 3.5 },
  { dash: '8 5', width: 2.5, r: 2.5 },
  { dash: '12 4 3 4', width: 1.5, r: 2 },
  { dash: '4 3', width: 1.5, r: 1.5 },
];
const SINGLE: Look = { width: 2.5, r: 4 };
const lookOf = (index: number, count: number) => (count === 1 ? SINGLE : LOOKS[index % LOOKS.length]);
const lookName = (look: Look) => `${look.dash ?? 'solid'}/${look.width}${look.halo ? `/halo ${look.halo}` : ''}`;

export type Series = { label: string; color: keyof typeof COLORS; points: SeriesPoint[] };

const HEIGHT = 176;
const FONT = 12;
const PAD = { top: 8, right: 14, bottom: 24 };

function Stroke({ d, look, color, opacity = 1 }: { d: string; look: Look; color: keyof typeof COLORS; opacity?: number }) {
  return (
    <>
      {look.halo && <path d={d} fill="none" strokeWidth={look.halo} strokeOpacity={0.25 * opacity} strokeLinecap="round" strokeLinejoin="round" className={COLORS[color].line} />}
      <path
        d={d}
        fill="none"
        strokeWidth={look.width}
        strokeDasharray={look.dash}
        strokeOpacity={opacity}
        strokeLinecap={look.round ? 'round' : 'butt'}
        strokeLinejoin="round"
        className={COLORS[color].line}
      />
    </>
  );
}

function Swatch({ look, color }: { look: Look; color: keyof typeof COLORS }) {
  return (
    <svg aria-hidden width={28} height={12} className="mr-1.5 inline-block align-[-1px]">
      <Stroke d="M4,6L24,6" look={look} color={color} />
    </svg>
  );
}

/**
 * Lines over the last minutes. Every series stays visible: distinct dashes and
 * widths, a marker on every value no line touches, and a legend that says when
 * a series is zero throughout or the same as another. A null is missing data
 * and breaks the line; how close values must be to be joined is the caller's
 * `join` (see series.ts).
 */
export function LineChart({
  title,
  unit,
  axisUnit,
  series,
  from,
  to,
  join,
  minTop,
  log,
  knownFrom,
  testId,
  note,
  className,
}: {
  title: string;
  /** Appended to values in the legend and the accessible description ("ms", "/s", "%"). */
  unit: string;
  /** What the y-axis counts, shown beside the title. */
  axisUnit: string;
  series: Series[];
  from: number;
  to: number;
  join: Join;
  /** The y-axis never spans less than 0..minTop, so small values look small. */
  minTop: number;
  /** A log axis from this floor instead (for latencies, which span orders of magnitude). */
  log?: { floor: number };
  /** Nothing was counted before this time: the chart says so instead of leaving a silent gap. */
  knownFrom?: number;
  testId: string;
  note?: string;
  className?: string;
}) {
  const visible = series.map((s) => ({ ...s, points: s.points.filter((p) => p.t >= from && p.t <= to) }));
  const notes = overlaps(visible.map((s) => s.points));
  const values = visible.flatMap((s) => s.points.flatMap((p) => (p.v === null ? [] : [p.v])));
  const minutes = Math.round((to - from) / 60_000);
  const described = visible.map((s) => `${s.label} ${formatValue(latest(s.points))}${unit}`).join(', ');

  const legend = (
    <ul className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600 dark:text-slate-300">
      {visible.map((s, index) => {
        const { empty, zero, sameAs } = notes[index];
        const remark = empty ? 'no data yet' : zero ? '0 throughout' : sameAs !== null ? `same as ${visible[sameAs].label}` : null;
        return (
          // Inline, so a long item wraps between words like a sentence rather than in columns.
          <li key={s.label} data-testid="legend-item" data-series={s.label} data-remark={remark ?? ''} className="inline">
            <Swatch look={lookOf(index, visible.length)} color={s.color} />
            {s.label}
            {!empty && !zero && (
              <span className="ml-1.5 font-medium tabular-nums text-slate-900 dark:text-slate-100">
                {formatValue(latest(s.points))}
                {unit}
              </span>
            )}
            {remark && <span className="text-slate-500 dark:text-slate-400"> · {remark}</span>}
          </li>
        );
      })}
    </ul>
  );

  return (
    <ChartCard testId={testId} title={title} unit={axisUnit} legend={legend} note={note} height={HEIGHT} className={className}>
      {(width) => {
        const pixels: [number, number] = [HEIGHT - PAD.bottom, PAD.top];
        const axis = log ? logAxis({ values, floor: log.floor, pixels }) : valueAxis({ values, minTop, pixels, count: 4 });
        const left = Math.max(...axis.ticks.map((tick) => tick.label.length)) * 7 + 10;
        const x = (t: number) => left + ((t - from) / Math.max(1, to - from)) * (width - left - PAD.right);
        const times = timeTicks({ from, to, x, maxTicks: Math.max(2, Math.floor((width - left) / 70)) });
        const unknownWidth = knownFrom !== undefined && knownFrom > from ? x(Math.min(knownFrom, to)) - left : 0;
        return (
          <svg
            data-testid="plot"
            width={width}
            height={HEIGHT}
            role="img"
            aria-label={`${title} over the last ${minutes} minutes, axis ${axis.ticks[0]?.label} to ${axis.ticks.at(-1)?.label}${unit}${log ? ' (log scale)' : ''}; latest: ${described}`}
            fontSize={FONT}
          >
            {unknownWidth > 1 && (
              <g data-testid="not-counting" className="text-slate-400 dark:text-slate-500" fill="currentColor">
                <rect x={left} y={PAD.top} width={unknownWidth} height={HEIGHT - PAD.top - PAD.bottom} fillOpacity={0.08} />
                {unknownWidth >= 120 && (
                  <text x={left + unknownWidth / 2} y={PAD.top + 18} textAnchor="middle">
                    not counting yet
                  </text>
                )}
              </g>
            )}
            <g className="text-slate-500 dark:text-slate-400" fill="currentColor">
              {axis.ticks.map((tick) => (
                <g key={tick.value}>
                  <line x1={left} x2={width - PAD.right} y1={tick.at} y2={tick.at} stroke="currentColor" strokeOpacity={tick.value === 0 ? 0.45 : 0.2} strokeDasharray={tick.value === 0 ? undefined : '3 4'} />
                  <text data-testid="y-tick" x={left - 6} y={tick.at + 4} textAnchor="end">
                    {tick.label}
                  </text>
                </g>
              ))}
              {times.map((tick, index) => (
                <text key={tick.value} data-testid="x-tick" x={tick.at} y={HEIGHT - 6} textAnchor={index === 0 ? 'start' : index === times.length - 1 ? 'end' : 'middle'}>
                  {tick.label}
                </text>
              ))}
            </g>
            {visible.map((s, index) => {
              const look = lookOf(index, visible.length);
              const { solid, bridge, markers } = trace(s.points, join, x, axis.y);
              return (
                <g key={s.label} data-testid="series" data-series={s.label} data-look={lookName(look)} data-marks={(solid ? 1 : 0) + markers.length}>
                  {bridge && <Stroke d={bridge} look={look} color={s.color} opacity={0.35} />}
                  {solid && <Stroke d={solid} look={look} color={s.color} />}
                  {markers.map((m) => (
                    <circle key={`${m.x},${m.y}`} cx={m.x} cy={m.y} r={look.r} strokeWidth={1} className={`${COLORS[s.color].fill} stroke-white dark:stroke-slate-900`} />
                  ))}
                </g>
              );
            })}
          </svg>
        );
      }}
    </ChartCard>
  );
}
