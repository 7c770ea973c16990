import { describe, expect, it } from 'vitest';
import { formatValue, logAxis, timeTicks, valueAxis } from '@/components/status/axis';
import { overlaps, trace } from '@/components/status/series';
import { percent } from '@/components/status/figures';

// The plot runs from y = 150 (value 0) up to y = 10 (the top of the axis).
const pixels: [number, number] = [150, 10];
const labels = (axis: { ticks: Array<{ label: string }> }) => axis.ticks.map((tick) => tick.label);

describe('status chart axes', () => {
  it('draws a NOTIFY queue at 3e-6 % near the bottom of a 0–1 % axis, labelled truthfully', () => {
    const axis = valueAxis({ values: [0, 3e-6, 2e-6], minTop: 1, pixels });
    expect(axis.top).toBe(1);
    expect(labels(axis)).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
    expect(axis.y(3e-6)).toBeGreaterThan(149.99);
    expect(axis.y(0)).toBe(150);
    expect(axis.y(1)).toBe(10);
  });

  it('gives tiny values distinct labels when no minimum range is asked for (never "0, 0, 0")', () => {
    const axis = valueAxis({ values: [3e-6], minTop: 0, pixels });
    expect(labels(axis)).toEqual(['0', '1e-6', '2e-6', '3e-6']);
    expect(axis.y(3e-6)).toBe(10);
  });

  it('spans the minimum range when every value is zero, or there are none', () => {
    for (const values of [[0, 0, 0], []]) {
      const axis = valueAxis({ values, minTop: 1, pixels });
      expect(axis.top).toBe(1);
      expect(new Set(labels(axis)).size).toBe(axis.ticks.length);
      expect(axis.y(0)).toBe(150);
    }
    expect(valueAxis({ values: [0], minTop: 0, pixels }).top).toBe(1);
  });

  it('labels huge values with SI prefixes on round steps', () => {
    const axis = valueAxis({ values: [1e6, 250_000], minTop: 1, pixels });
    expect(axis.top).toBe(1e6);
    expect(labels(axis)).toEqual(['0', '0.2M', '0.4M', '0.6M', '0.8M', '1M']);
    const uneven = valueAxis({ values: [1_234_567], minTop: 1, pixels });
    expect(uneven.top).toBe(1.5e6);
    expect(labels(uneven)).toEqual(['0', '0.5M', '1M', '1.5M']);
  });

  it('rounds the top up to a nice value and keeps every label distinct in between', () => {
    for (const largest of [0.3, 1.7, 12, 17.3, 99, 2_500, 9_999, 45_000]) {
      const axis = valueAxis({ values: [largest], minTop: 1, pixels });
      expect(axis.top).toBeGreaterThanOrEqual(largest);
      expect(axis.ticks.length).toBeGreaterThanOrEqual(3);
      expect(axis.ticks.length).toBeLessThanOrEqual(7);
      expect(new Set(labels(axis)).size).toBe(axis.ticks.length);
      expect(axis.y(largest)).toBeGreaterThanOrEqual(10);
    }
    expect(labels(valueAxis({ values: [2_500], minTop: 1, pixels }))).toEqual(['0', '500', '1,000', '1,500', '2,000', '2,500']);
  });

  it('puts a 2 ms p50 and a 440 ms p99 on one readable log axis, zero on its floor', () => {
    const axis = logAxis({ values: [2, 440, 0], floor: 0.1, pixels });
    expect(axis.top).toBe(1000);
    expect(labels(axis)).toEqual(['0.1', '1', '10', '100', '1,000']);
    expect(axis.y(0)).toBe(150);
    expect(axis.y(2)).toBeLessThan(axis.y(1));
    expect(axis.y(2)).toBeGreaterThan(axis.y(10));
    // Quiet (no values): two decades, with the in-between ticks d3 labels.
    expect(labels(logAxis({ values: [], floor: 0.1, pixels }))).toEqual(['0.1', '0.2', '1', '2', '10']);
    // Huge latencies stay short.
    expect(labels(logAxis({ values: [250_000], floor: 0.1, pixels }))).toEqual(['1', '100', '10k', '1M']);
  });

  it('marks the minutes back from now', () => {
    const to = 1_700_000_000_000;
    const ticks = timeTicks({ from: to - 180_000, to, x: (t) => (t - (to - 180_000)) / 1000, maxTicks: 5 });
    expect(ticks.map((tick) => [tick.label, tick.at])).toEqual([['−3 min', 0], ['−2 min', 60], ['−1 min', 120], ['now', 180]]);
    expect(timeTicks({ from: to - 180_000, to, x: () => 0, maxTicks: 2 }).map((tick) => tick.label)).toEqual(['−3 min', 'now']);
  });

  it('formats single values with the digits they deserve', () => {
    expect([0, 3e-6, 0.25, 1.25, 12.5, 2_500, 1_234_567, null].map(formatValue)).toEqual(['0', '3e-6', '0.25', '1.3', '12.5', '2,500', '1.23M', '–']);
    expect([0, 3e-6, 0.5, 42].map(percent)).toEqual(['0 %', '< 0.01 %', '0.50 %', '42 %']);
  });
});

describe('status chart series', () => {
  const x = (t: number) => t;
  const y = (v: number) => v;

  it('joins adjacent steps, bridges known quiet gaps faintly, and marks values that stand alone', () => {
    const points = [
      { t: 0, v: 1 },
      { t: 3, v: 2 },
      { t: 6, v: null },
      { t: 9, v: 4 },
      { t: 12, v: null },
      { t: 15, v: null },
      { t: 18, v: 5 },
      { t: 21, v: 6 },
    ];
    const latency = trace(points, { solidMs: 3, bridgeMs: Infinity }, x, y);
    expect(latency.solid).toBe('M0.0,1.0L3.0,2.0M18.0,5.0L21.0,6.0');
    expect(latency.bridge).toBe('M3.0,2.0L9.0,4.0M9.0,4.0L18.0,5.0');
    expect(latency.markers).toEqual([{ x: 9, y: 4 }]);

    // Missing data (no bridge allowed) breaks the line and leaves the lone value as a dot.
    const missing = trace(points, { solidMs: 3, bridgeMs: 0 }, x, y);
    expect(missing.bridge).toBe('');
    expect(missing.solid).toBe('M0.0,1.0L3.0,2.0M18.0,5.0L21.0,6.0');
    expect(missing.markers).toEqual([{ x: 9, y: 4 }]);
  });

  it('draws a single value as a dot, and nothing for no values', () => {
    expect(trace([{ t: 5, v: 7 }], { solidMs: 3, bridgeMs: 0 }, x, y)).toEqual({ solid: '', bridge: '', markers: [{ x: 5, y: 7 }] });
    expect(trace([{ t: 5, v: null }], { solidMs: 3, bridgeMs: 0 }, x, y)).toEqual({ solid: '', bridge: '', markers: [] });
  });

  it('tells the legend which series are empty, zero throughout, or drawn over another', () => {
    const a = [{ t: 0, v: 1 }, { t: 3, v: 2 }];
    const b = [{ t: 0, v: 1 }, { t: 3, v: 2 }];
    const c = [{ t: 0, v: 1 }, { t: 3, v: 3 }];
    const zero = [{ t: 0, v: 0 }, { t: 3, v: null }];
    const none = [{ t: 0, v: null }];
    expect(overlaps([a, b, c, zero, none])).toEqual([
      { empty: false, zero: false, sameAs: null },
      { empty: false, zero: false, sameAs: 0 },
      { empty: false, zero: false, sameAs: null },
      { empty: false, zero: true, sameAs: null },
      { empty: true, zero: false, sameAs: null },
    ]);
    // A value where the other has none is a difference.
    expect(overlaps([a, [{ t: 0, v: 1 }]])[1].sameAs).toBeNull();
  });
});
