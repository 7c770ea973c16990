import { format } from 'd3-format';
import { scaleLinear, scaleLog } from 'd3-scale';

// Scales and ticks for the status charts. d3-scale picks "nice" domains and
// round tick steps (1, 2, 5 × 10^k) and formats each tick with just the
// precision its step needs; that is the part hand-made charts get wrong at
// 3e-6 or at 1e6, so it comes from the library, and the drawing stays ours.

export type Tick = { value: number; label: string; at: number };
export type ValueAxis = {
  /** The nice domain [0, top] the chart spans. */
  top: number;
  ticks: Tick[];
  /** Value → pixel; values above the top are clamped to the plot. */
  y: (value: number) => number;
};

/** The d3-format specifier that keeps labels short and true at this magnitude. */
function specifier(top: number): string {
  if (top >= 10_000) return '~s'; // 200k, 1.5M
  if (top < 0.001) return '~e'; // 1e-6, 2e-6: "0.000001" is hard to read at a glance
  return ',~f'; // 0.25, 12, 2,500
}

/**
 * A linear axis from zero up to the largest value, never shorter than minTop,
 * so a quiet chart keeps a sensible range (a NOTIFY queue at 3e-6 % draws near
 * the bottom of 0–1 %, not at full height). pixels: [bottom, top] of the plot.
 */
export function valueAxis({ values, minTop, pixels, count = 4 }: { values: number[]; minTop: number; pixels: [number, number]; count?: number }): ValueAxis {
  const largest = values.reduce((max, value) => (Number.isFinite(value) && value > max ? value : max), 0);
  const scale = scaleLinear()
    .domain([0, Math.max(largest, minTop) || 1])
    .range(pixels)
    .nice(count)
    .clamp(true);
  const top = scale.domain()[1];
  const format = scale.tickFormat(count, specifier(top));
  const ticks = scale.ticks(count).map((value) => ({ value, label: value === 0 ? '0' : format(value), at: scale(value) }));
  return { top, ticks, y: (value) => scale(value) };
}

const logLabel = (value: number) => format(value >= 10_000 ? '~s' : ',~r')(value);

/**
 * A log axis for figures that span orders of magnitude at once (a 2 ms p50 next
 * to a 400 ms p99). It starts at floor and spans at least two decades; values
 * at or below the floor (0 ms included) sit on the bottom line. d3 picks which
 * ticks get a label (1, 2, 10, 20… or only powers of ten when space is short).
 */
export function logAxis({ values, floor, pixels, count = 4 }: { values: number[]; floor: number; pixels: [number, number]; count?: number }): ValueAxis {
  const largest = values.reduce((max, value) => (Number.isFinite(value) && value > max ? value : max), 0);
  const scale = scaleLog()
    .domain([floor, Math.max(largest, floor * 100)])
    .range(pixels)
    .nice()
    .clamp(true);
  const labelled = scale.tickFormat(count);
  const ticks = scale
    .ticks(count)
    .filter((value) => labelled(value) !== '')
    .map((value) => ({ value, label: logLabel(value), at: scale(value) }));
  return { top: scale.domain()[1], ticks, y: (value) => scale(Math.max(value, floor)) };
}

/** Minute marks back from now: "−3 min" … "now", as many as fit. */
export function timeTicks({ from, to, x, maxTicks }: { from: number; to: number; x: (t: number) => number; maxTicks: number }): Tick[] {
  const minutes = Math.max(1, Math.round((to - from) / 60_000));
  // The first round step that divides the window and fits; failing that, just the two ends.
  const every = [1, 2, 5, 10, 15, 30, 60].find((step) => step < minutes && minutes % step === 0 && minutes / step + 1 <= maxTicks) ?? minutes;
  const ticks: Tick[] = [];
  for (let minute = 0; minute <= minutes; minute += every) {
    const t = to - minute * 60_000;
    ticks.push({ value: t, label: minute === 0 ? 'now' : `−${minute} min`, at: x(t) });
  }
  return ticks.reverse();
}

const si = format('.3~s');
const grouped = format(',.0f');
const tenths = format('.1~f');
const small = format('.2~r');
const tiny = format('.1~e');

/** One value in a legend or tile, with as many digits as its size deserves: 1.2M, 2,500, 12.5, 0.25, 3e-6. */
export function formatValue(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '–';
  const size = Math.abs(value);
  if (size === 0) return '0';
  if (size >= 10_000) return si(value);
  if (size >= 100) return grouped(value);
  if (size >= 1) return tenths(value);
  if (size >= 0.001) return small(value);
  return tiny(value);
}
