// How a series becomes marks on a chart, kept apart from React so it can be tested.

export type SeriesPoint = { t: number; v: number | null };

/**
 * When two neighbouring values are joined. Within solidMs: a line (the steps are
 * adjacent). Within bridgeMs: a faint line, across steps that have no value for
 * a known reason (no change in those steps means no latency to time). Further
 * apart, or across a null that means missing data: no line at all.
 */
export type Join = { solidMs: number; bridgeMs: number };

export type Trace = { solid: string; bridge: string; markers: Array<{ x: number; y: number }> };

const f = (n: number) => n.toFixed(1);

/** The path of the joined runs, the faint bridges, and a marker on every value that no solid line touches (it would be invisible otherwise). */
export function trace(points: SeriesPoint[], join: Join, x: (t: number) => number, y: (v: number) => number): Trace {
  const valued = points.filter((p): p is { t: number; v: number } => p.v !== null && Number.isFinite(p.v)).sort((a, b) => a.t - b.t);
  let solid = '';
  let bridge = '';
  const markers: Trace['markers'] = [];
  let joinedToPrevious = false;
  for (let index = 0; index < valued.length; index += 1) {
    const point = valued[index];
    const next = valued[index + 1];
    const gap = next ? next.t - point.t : Infinity;
    const joinedToNext = next !== undefined && gap <= join.solidMs;
    if (joinedToNext) solid += `${joinedToPrevious ? '' : `M${f(x(point.t))},${f(y(point.v))}`}L${f(x(next.t))},${f(y(next.v))}`;
    else if (next !== undefined && gap <= join.bridgeMs) bridge += `M${f(x(point.t))},${f(y(point.v))}L${f(x(next.t))},${f(y(next.v))}`;
    if (!joinedToPrevious && !joinedToNext) markers.push({ x: x(point.t), y: y(point.v) });
    joinedToPrevious = joinedToNext;
  }
  return { solid, bridge, markers };
}

/** The last value, if any. */
export function latest(points: SeriesPoint[]): number | null {
  for (let index = points.length - 1; index >= 0; index -= 1) if (points[index].v !== null) return points[index].v;
  return null;
}

function equal(a: SeriesPoint[], b: SeriesPoint[]): boolean {
  const byT = new Map(b.map((p) => [p.t, p.v]));
  const times = new Set([...a.map((p) => p.t), ...b.map((p) => p.t)]);
  const av = new Map(a.map((p) => [p.t, p.v]));
  for (const t of times) {
    const x = av.get(t) ?? null;
    const y = byT.get(t) ?? null;
    if (x === null && y === null) continue;
    if (x === null || y === null || Math.abs(x - y) > 1e-9 * Math.max(1, Math.abs(x), Math.abs(y))) return false;
  }
  return true;
}

/**
 * What the legend must say so no series goes unseen: for each series, whether
 * it has no value at all, is zero throughout, or draws exactly over an earlier
 * one (the index of that one).
 */
export function overlaps(series: SeriesPoint[][]): Array<{ empty: boolean; zero: boolean; sameAs: number | null }> {
  return series.map((points, index) => {
    const values = points.flatMap((p) => (p.v === null ? [] : [p.v]));
    const zero = values.length > 0 && values.every((v) => v === 0);
    const sameAs = values.length === 0 || zero ? null : series.slice(0, index).findIndex((other) => equal(points, other));
    return { empty: values.length === 0, zero, sameAs: sameAs === null || sameAs === -1 ? null : sameAs };
  });
}
