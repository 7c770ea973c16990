// Bucket bounds in ms for the status page's latency histogram (the last is open-ended).
export const HISTOGRAM_BOUNDS_MS = [1, 2, 3, 5, 10, 25, 50, 100, 250, 1000];

type Slot = { t: number; count: number; latencyCount: number; latencySum: number; max: number; buckets: number[] };

/**
 * One step of the window. perSecond is null for a step the window saw less
 * than a second of (the process was not running yet, or the step has only just
 * begun): that is missing data, not a quiet moment. p50/p99/max are null in a
 * step with no timed events.
 */
export type Point = { t: number; count: number; perSecond: number | null; p50: number | null; p99: number | null; max: number | null };
export type RollingSnapshot = {
  stepS: number;
  windowS: number;
  /** When this window started counting (ms since the epoch): earlier steps are unknown. */
  since: number;
  points: Point[];
  histogram: { boundsMs: number[]; counts: number[] };
  total: number;
};

/** The step starts covering the window that ends at `now`, oldest first. */
function stepStarts(now: number, stepS: number, windowS: number): number[] {
  const current = now - (now % (stepS * 1000));
  const starts: number[] = [];
  for (let t = current - windowS * 1000 + stepS * 1000; t <= current; t += stepS * 1000) starts.push(t);
  return starts;
}

/** Seconds of step t that the window saw: 0 before it started counting, the step in progress only so far. */
function coveredSeconds(t: number, stepS: number, since: number, now: number): number {
  const seconds = (Math.min(t + stepS * 1000, now) - Math.max(t, since)) / 1000;
  return Math.max(0, Math.round(seconds * 1000) / 1000);
}

/** Below this many seconds counted, a rate says more about luck than load (two events in 0.1 s are not 20/s). */
export const MIN_RATE_SECONDS = 1;

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
    readonly since = Date.now(),
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
    const byStart = new Map(this.slots.map((slot) => [slot.t, slot]));
    const points: Point[] = [];
    const counts = new Array<number>(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
    for (const t of stepStarts(now, this.stepS, this.windowS)) {
      const slot = byStart.get(t);
      const seconds = coveredSeconds(t, this.stepS, this.since, now);
      points.push({
        t,
        count: slot?.count ?? 0,
        perSecond: seconds < MIN_RATE_SECONDS ? null : Math.round(((slot?.count ?? 0) / seconds) * 10) / 10,
        p50: slot?.latencyCount ? quantile(slot.buckets, 0.5, slot.max) : null,
        p99: slot?.latencyCount ? quantile(slot.buckets, 0.99, slot.max) : null,
        max: slot?.latencyCount ? slot.max : null,
      });
      slot?.buckets.forEach((value, index) => (counts[index] += value));
    }
    return { stepS: this.stepS, windowS: this.windowS, since: this.since, points, histogram: { boundsMs: HISTOGRAM_BOUNDS_MS, counts }, total: this.total };
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

/** One step of a CountWindow: events by kind (zeros left out), and how many seconds of the step were counted (0: not counting yet). */
export type CountPoint<K extends string> = { t: number; seconds: number; counts: Partial<Record<K, number>> };
export type CountSnapshot<K extends string> = { stepS: number; windowS: number; since: number; at: number; points: Array<CountPoint<K>> };

/**
 * Events of a few kinds per step over the same window (a web process's write
 * outcomes). It carries counts and the seconds counted rather than rates, so a
 * reader can add up several processes and still get rates right.
 */
export class CountWindow<K extends string> {
  private slots: Array<{ t: number; counts: Partial<Record<K, number>> }> = [];

  constructor(
    readonly stepS = 3,
    readonly windowS = 180,
    readonly since = Date.now(),
  ) {}

  record(kind: K, now = Date.now()): void {
    const t = now - (now % (this.stepS * 1000));
    let slot = this.slots[this.slots.length - 1];
    if (slot?.t !== t) {
      slot = { t, counts: {} };
      this.slots.push(slot);
      this.prune(now);
    }
    slot.counts[kind] = (slot.counts[kind] ?? 0) + 1;
  }

  snapshot(now = Date.now()): CountSnapshot<K> {
    this.prune(now);
    const byStart = new Map(this.slots.map((slot) => [slot.t, slot.counts]));
    const points = stepStarts(now, this.stepS, this.windowS).map((t) => ({
      t,
      seconds: coveredSeconds(t, this.stepS, this.since, now),
      counts: { ...byStart.get(t) },
    }));
    return { stepS: this.stepS, windowS: this.windowS, since: this.since, at: now, points };
  }

  private prune(now: number): void {
    const oldest = now - (now % (this.stepS * 1000)) - this.windowS * 1000;
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
