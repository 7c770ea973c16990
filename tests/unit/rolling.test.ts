import { describe, expect, it } from 'vitest';
import { CountWindow, HISTOGRAM_BOUNDS_MS, quantile, RollingWindow } from '@/lib/ops/rolling';
import { plainError } from '@/lib/ops/plain-error';

describe('the status page rolling window', () => {
  const t0 = 1_700_000_001_000 - (1_700_000_001_000 % 3_000);

  it('groups events into steps with a rate, quantiles and a histogram', () => {
    const window = new RollingWindow(3, 30, t0 - 60_000);
    for (const ms of [0.5, 1.5, 1.5, 4, 200]) window.record(ms, t0 + 100);
    window.record(null, t0 + 3_100);
    const snapshot = window.snapshot(t0 + 6_000);
    expect(snapshot.points).toHaveLength(10);
    const [first, second] = snapshot.points.filter((point) => point.count > 0);
    expect(first).toMatchObject({ t: t0, count: 5, perSecond: 1.7, p50: 2, max: 200 });
    expect(first.p99).toBe(200);
    expect(second).toMatchObject({ count: 1, p50: null });
    expect(snapshot.histogram.counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(snapshot.histogram.counts[HISTOGRAM_BOUNDS_MS.indexOf(250)]).toBe(1);
    expect(snapshot.total).toBe(6);
  });

  it('forgets what is older than the window', () => {
    const window = new RollingWindow(3, 30, t0 - 60_000);
    window.record(1, t0);
    expect(window.snapshot(t0 + 31_000).points.every((point) => point.count === 0)).toBe(true);
  });

  it('says "unknown" (null) for steps it saw under a second of, and zero for quiet ones', () => {
    // Started 1.5 s into a step: that step is rated over the 1.5 s it saw, not the whole 3.
    const window = new RollingWindow(3, 30, t0 + 1_500);
    window.record(2, t0 + 2_000);
    window.record(2, t0 + 2_500);
    const points = window.snapshot(t0 + 9_500).points;
    const started = points.findIndex((point) => point.t === t0);
    expect(points.slice(0, started).every((point) => point.perSecond === null)).toBe(true);
    expect(points[started]).toMatchObject({ count: 2, perSecond: 1.3, p50: 2 });
    expect(points[started + 1]).toMatchObject({ count: 0, perSecond: 0, p50: null });
    // The step in progress is half a second old: too little to rate, so unknown.
    expect(points.at(-1)).toMatchObject({ t: t0 + 9_000, count: 0, perSecond: null });
    expect(window.snapshot(t0 + 10_500).points.at(-1)).toMatchObject({ t: t0 + 9_000, perSecond: 0 });
  });

  it('quantiles never exceed the largest value seen', () => {
    expect(quantile([0, 3, 0], 0.5, 1.2)).toBe(1.2);
  });
});

describe('the write outcome window', () => {
  const t0 = 1_700_000_001_000 - (1_700_000_001_000 % 3_000);

  it('counts each kind per step with the seconds it counted, so several processes add up to true rates', () => {
    const window = new CountWindow<'accepted' | 'rateLimited'>(3, 30, t0 + 1_000);
    window.record('accepted', t0 + 1_200);
    window.record('rateLimited', t0 + 1_300);
    window.record('rateLimited', t0 + 4_000);
    const snapshot = window.snapshot(t0 + 7_000);
    expect(snapshot).toMatchObject({ stepS: 3, windowS: 30, since: t0 + 1_000, at: t0 + 7_000 });
    expect(snapshot.points).toHaveLength(10);
    const byT = new Map(snapshot.points.map((point) => [point.t, point]));
    expect(byT.get(t0 - 3_000)).toEqual({ t: t0 - 3_000, seconds: 0, counts: {} });
    expect(byT.get(t0)).toEqual({ t: t0, seconds: 2, counts: { accepted: 1, rateLimited: 1 } });
    expect(byT.get(t0 + 3_000)).toEqual({ t: t0 + 3_000, seconds: 3, counts: { rateLimited: 1 } });
    expect(byT.get(t0 + 6_000)).toEqual({ t: t0 + 6_000, seconds: 1, counts: {} });
  });

  it('forgets what is older than the window', () => {
    const window = new CountWindow<'accepted'>(3, 30, t0 - 60_000);
    window.record('accepted', t0);
    expect(window.snapshot(t0 + 31_000).points.every((point) => Object.keys(point.counts).length === 0)).toBe(true);
  });
});

describe('errors in plain words', () => {
  it('says what to do about common failures, and passes others through', () => {
    expect(plainError('connect ECONNREFUSED 127.0.0.1:5432', 'PostgreSQL')).toMatch(/Nothing answers at 127\.0\.0\.1:5432: PostgreSQL is not running/);
    expect(plainError('database "nope" does not exist', 'PostgreSQL')).toMatch(/npm run db:setup/);
    expect(plainError('something odd', 'Redis')).toBe('something odd');
    expect(plainError(null, 'Redis')).toBeNull();
  });
});
