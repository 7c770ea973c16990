// Bucket bounds in ms for the status page's latency histogram (the last is open-ended).
export const HISTOGRAM_BOUNDS_MS = [1, 2, 3, 5, 10, 25, 50, 100, 250, 1000];

type Slot = { t: number; count: number; latencyCount: number; latencySum: number; max: number; buckets: number[] };

export type Point = { t: number; count: number; perSecond: number; p50: number | null; p99: number | null; max: number | null };
export type RollingSnapshot = {
  stepS: number;
  windowS: number;
  points: Point[];
  histogram: { boundsMs: number[]; counts: number[] };
  total: number;
};

/**
 * A small rolling window of events and their latencies, in steps of a few
 * seconds, for the status page. Prometheus keeps the long history; this only
 * has to draw the last few minutes without any other service.
 */
export class RollingWindow {
  private slots: Slot[] = [];
  total = 0;

  constructor(
    readonly stepS = 3,
    readonly windowS = 180,
  ) {}

  record(latencyMs: number | null, now = Date.now()): void {
    const slot = this.slotAt(now);
    slot.count += 1;
    this.total += 1;
    if (latencyMs === null) return;
    slot.latencyCount += 1;
    slot.latencySum += latencyMs;
    slot.max = Math.max(slot.max, latencyMs);
    const index = HISTOGRAM_BOUNDS_MS.findIndex((bound) => latencyMs <= bound);
    slot.buckets[index === -1 ? HISTOGRAM_BOUNDS_MS.length : index] += 1;
  }

  snapshot(now = Date.now()): RollingSnapshot {
    this.prune(now);
    const current = this.stepStart(now);
    const first = current - this.windowS * 1000 + this.stepS * 1000;
    const byStart = new Map(this.slots.map((slot) => [slot.t, slot]));
    const points: Point[] = [];
    const counts = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
    for (let t = first; t <= current; t += this.stepS * 1000) {
      const slot = byStart.get(t);
      // The step in progress is only partly over: rate it by the time elapsed so far.
      const elapsedS = t === current ? Math.max(1, (now - t) / 1000) : this.stepS;
      points.push({
        t,
        count: slot?.count ?? 0,
        perSecond: Math.round(((slot?.count ?? 0) / elapsedS) * 10) / 10,
        p50: slot?.latencyCount ? quantile(slot.buckets, 0.5, slot.max) : null,
        p99: slot?.latencyCount ? quantile(slot.buckets, 0.99, slot.max) : null,
        max: slot?.latencyCount ? slot.max : null,
      });
      slot?.buckets.forEach((value, index) => (counts[index] += value));
    }
    return { stepS: this.stepS, windowS: this.windowS, points, histogram: { boundsMs: HISTOGRAM_BOUNDS_MS, counts }, total: this.total };
  }

  private stepStart(now: number): number {
    return now - (now % (this.stepS * 1000));
  }

  private slotAt(now: number): Slot {
    const t = this.stepStart(now);
    const last = this.slots[this.slots.length - 1];
    if (last?.t === t) return last;
    const slot = { t, count: 0, latencyCount: 0, latencySum: 0, max: 0, buckets: new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0) };
    this.slots.push(slot);
    this.prune(now);
    return slot;
  }

  private prune(now: number): void {
    const oldest = this.stepStart(now) - this.windowS * 1000;
    while (this.slots.length && this.slots[0].t <= oldest) this.slots.shift();
  }
}

/** An upper bound for the q-quantile from bucket counts; the open bucket reports the max seen. */
export function quantile(buckets: number[], q: number, max: number): number {
  const total = buckets.reduce((sum, value) => sum + value, 0);
  let seen = 0;
  for (let index = 0; index < buckets.length; index += 1) {
    seen += buckets[index];
    if (seen >= q * total) return Math.min(HISTOGRAM_BOUNDS_MS[index] ?? max, max);
  }
  return max;
}
