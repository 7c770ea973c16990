// Hand-made SVG: three small charts do not justify a chart library's weight,
// and plain SVG follows the page's light and dark colours through currentColor.

// Literal class names, so Tailwind finds them when it scans this file.
const COLORS = {
  sky: { line: 'stroke-sky-500 dark:stroke-sky-400', key: 'bg-sky-500 dark:bg-sky-400' },
  violet: { line: 'stroke-violet-500 dark:stroke-violet-400', key: 'bg-violet-500 dark:bg-violet-400' },
  amber: { line: 'stroke-amber-500 dark:stroke-amber-400', key: 'bg-amber-500 dark:bg-amber-400' },
  emerald: { line: 'stroke-emerald-500 dark:stroke-emerald-400', key: 'bg-emerald-500 dark:bg-emerald-400' },
} as const;

export type Series = { label: string; color: keyof typeof COLORS; points: Array<{ t: number; v: number | null }> };

const W = 600;
const H = 170;
const PAD = { left: 44, right: 8, top: 10, bottom: 22 };

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((n) => n * power >= value) ?? 10;
  return step * power;
}

function format(value: number): string {
  if (value >= 1000) return `${Math.round(value / 100) / 10}k`;
  return value >= 10 || value === 0 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

/** Lines over the last minutes; a gap (null) breaks the line rather than drawing a false zero. */
export function LineChart({ title, unit, series, from, to, testId }: { title: string; unit: string; series: Series[]; from: number; to: number; testId: string }) {
  const values = series.flatMap((s) => s.points.flatMap((p) => (p.v === null ? [] : [p.v])));
  const top = niceMax(Math.max(0, ...values));
  const x = (t: number) => PAD.left + ((t - from) / Math.max(1, to - from)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const latest = series.map((s) => `${s.label} ${format([...s.points].reverse().find((p) => p.v !== null)?.v ?? 0)} ${unit}`).join(', ');
  const minutes = Math.round((to - from) / 60_000);

  return (
    <figure data-testid={testId} className="rounded-2xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <figcaption className="flex flex-wrap items-baseline justify-between gap-2">
        <span className="font-semibold">{title}</span>
        <span className="flex flex-wrap gap-3 text-xs text-slate-500 dark:text-slate-400">
          {series.map((s) => (
            <span key={s.label} className="inline-flex items-center gap-1">
              <span aria-hidden className={`inline-block h-0.5 w-4 ${COLORS[s.color].key}`} />
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title} over the last ${minutes} minutes; latest: ${latest}`} className="mt-2 h-auto w-full">
        {[0, 0.5, 1].map((share) => (
          <g key={share} className="text-slate-400 dark:text-slate-500">
            <line x1={PAD.left} x2={W - PAD.right} y1={y(top * share)} y2={y(top * share)} stroke="currentColor" strokeOpacity={0.25} strokeDasharray={share ? '3 4' : undefined} />
            <text x={PAD.left - 6} y={y(top * share) + 4} textAnchor="end" fontSize={11} fill="currentColor">
              {format(top * share)}
            </text>
          </g>
        ))}
        <g className="text-slate-400 dark:text-slate-500" fontSize={11} fill="currentColor">
          <text x={PAD.left} y={H - 4}>−{minutes} min</text>
          <text x={W - PAD.right} y={H - 4} textAnchor="end">now ({unit})</text>
        </g>
        {series.map((s) => (
          <path key={s.label} d={path(s.points, x, y)} fill="none" strokeWidth={2} strokeLinejoin="round" strokeLinecap="round" className={COLORS[s.color].line} />
        ))}
      </svg>
    </figure>
  );
}

function path(points: Series['points'], x: (t: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  for (const point of points) {
    if (point.v === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(point.t).toFixed(1)},${y(point.v).toFixed(1)}`;
    pen = true;
  }
  return d;
}
