import { describe, expect, it } from 'vitest';
import { HISTOGRAM_BOUNDS_MS, quantile, RollingWindow } from '@/lib/ops/rolling';
import { plainError } from '@/lib/ops/plain-error';

describe('the status page rolling window', () => {
  const t0 = 1_700_000_001_000 - (1_700_000_001_000 % 3_000);

  it('groups events into steps with a rate, quantiles and a histogram', () => {
    const window = new RollingWindow(3, 30);
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
    const window = new RollingWindow(3, 30);
    window.record(1, t0);
    expect(window.snapshot(t0 + 31_000).points.every((point) => point.count === 0)).toBe(true);
  });

  it('quantiles never exceed the largest value seen', () => {
    expect(quantile([0, 3, 0], 0.5, 1.2)).toBe(1.2);
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
