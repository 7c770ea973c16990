import { MIN_RATE_SECONDS, type Point } from '@/lib/ops/rolling';
import type { SystemStatus } from '@/lib/ops/status';
import type { WriteOutcome } from '@/lib/ops/web-metrics';
import type { WebStatus } from '@/lib/ops/web-processes';
import type { SeriesPoint } from './series';

// Turns the status answer into what the tiles and charts draw. A null value is
// missing data (nobody was counting), and the charts break their lines there.

export const REFUSALS: Array<{ outcome: Exclude<WriteOutcome, 'accepted'>; label: string; short: string }> = [
  { outcome: 'rateLimited', label: 'rate limit (429)', short: 'rate limit' },
  { outcome: 'belowZero', label: 'below zero (409)', short: 'below zero' },
  { outcome: 'badRequest', label: 'bad request (other 4xx)', short: 'bad request' },
  { outcome: 'failed', label: 'server error (5xx)', short: 'server error' },
];

/** Workers announce every 5 s: samples further apart than this mean nobody was measuring. */
const QUEUE_SAMPLE_GAP_MS = 12_500;

/**
 * For each step, the largest of the workers' values (the slowest worker is the
 * one that matters; each hears every change). With finishedOnly, a step still
 * in progress when the worker announced is left out: its rate would be a guess.
 */
function mergeMax(
  workers: Array<{ at: string; commitToCache: { stepS: number; points: Point[] } | null }>,
  pick: (point: Point) => number | null,
  finishedOnly = false,
): SeriesPoint[] {
  const byT = new Map<number, number | null>();
  for (const worker of workers) {
    const at = Date.parse(worker.at);
    for (const point of worker.commitToCache?.points ?? []) {
      const unfinished = finishedOnly && point.t + worker.commitToCache!.stepS * 1000 > at;
      const v = point.perSecond === null || unfinished ? null : pick(point);
      const before = byT.get(point.t) ?? null;
      byT.set(point.t, v === null ? before : Math.max(v, before ?? v));
    }
  }
  return [...byT.entries()].sort(([a], [b]) => a - b).map(([t, v]) => ({ t, v }));
}

/**
 * Writes per second of one outcome, added up over every web process. A step
 * that some process had not finished when it last announced (its figures are
 * up to 5 s old) is unknown rather than short; so is a step no process was
 * running in.
 */
export function sumWrites(list: WebStatus[], grid: number[], outcome: WriteOutcome): SeriesPoint[] {
  const processes = list.flatMap((web) =>
    web.writes ? [{ byT: new Map(web.writes.points.map((p) => [p.t, p])), finishedBy: web.writes.at - web.writes.stepS * 1000 }] : [],
  );
  return grid.map((t) => {
    let sum = 0;
    let covered = false;
    for (const { byT, finishedBy } of processes) {
      const point = byT.get(t);
      if (t > finishedBy) return { t, v: null };
      if (!point || point.seconds === 0) continue;
      if (point.seconds < MIN_RATE_SECONDS) return { t, v: null };
      covered = true;
      sum += (point.counts[outcome] ?? 0) / point.seconds;
    }
    return { t, v: covered ? sum : null };
  });
}

function totalWrites(list: WebStatus[], outcome: WriteOutcome): number {
  return list.reduce((sum, web) => sum + (web.writes?.points ?? []).reduce((inner, point) => inner + (point.counts[outcome] ?? 0), 0), 0);
}

/** The latest value (rate series hold finished steps only). */
function lastValue(points: SeriesPoint[]): number | null {
  return lastPoint(points)?.v ?? null;
}

function lastPoint(points: SeriesPoint[]): SeriesPoint | undefined {
  return [...points].reverse().find((p) => p.v !== null);
}

/**
 * How old a rate is when the page shows it, in whole seconds, counted from the
 * end of its step; null when it is as fresh as a step allows. Other processes
 * announce every 5 s, so their last figures can lag what this one sees.
 */
function staleness(points: SeriesPoint[], stepMs: number, now: number): number | null {
  const point = lastPoint(points);
  if (!point) return null;
  const age = now - (point.t + stepMs);
  return age > stepMs ? Math.round(age / 1000) : null;
}

export function figures(status: SystemStatus) {
  const { stream } = status.web;
  const to = Date.parse(status.at);
  const from = to - stream.windowS * 1000;
  const stepMs = stream.stepS * 1000;
  const grid = stream.points.map((point) => point.t);
  const workers = status.workers.list;
  const listening = workers.filter((worker) => worker.listening).length;

  const accepted = sumWrites(status.web.list, grid, 'accepted');
  const changes = mergeMax(workers, (p) => p.perSecond, true);
  // Rates only for finished steps: the one in progress has too few events to say much.
  const heard = stream.points.map((p) => ({ t: p.t, v: p.t + stepMs <= to ? p.perSecond : null }));
  const lag = mergeMax(workers, (p) => p.p99);
  const queue = workers
    .flatMap((worker) => (worker.queueHistory ?? []).map((q) => ({ t: q.t, v: q.usage * 100 })))
    .sort((a, b) => a.t - b.t);
  const refused = REFUSALS.map((reason) => ({ ...reason, total: totalWrites(status.web.list, reason.outcome) }));

  // Since when anyone was counting: before that a chart has nothing to say, and says so.
  const earliest = (...times: Array<number | undefined>) => Math.min(...times.filter((t): t is number => t !== undefined), Infinity);
  const writesSince = earliest(...status.web.list.map((web) => web.writes?.since));
  const workersSince = earliest(...workers.map((worker) => worker.commitToCache?.since));

  // Latency of the latest step that saw changes: a quiet minute has no latency to show, but the last one still holds.
  const busy = [...stream.points].reverse().find((point) => point.p50 !== null);
  const latestLag = lastValue(lag);
  const resyncs = workers.flatMap((worker) => (worker.lastResync ? [worker.lastResync] : [])).sort((a, b) => b.at.localeCompare(a.at));
  const queueNow = workers.reduce<number | null>((max, worker) => (worker.queueUsage === null ? max : Math.max(max ?? 0, worker.queueUsage)), null);
  // CHANGE_SOURCE=logical: the slot as the worker streaming from it sees it.
  const slot = (workers.find((worker) => worker.slot?.role === 'streaming') ?? workers.find((worker) => worker.slot))?.slot ?? null;

  return {
    from,
    to,
    stepS: stream.stepS,
    acceptedPerSecond: lastValue(accepted),
    acceptedAgeS: staleness(accepted, stepMs, to),
    changesPerSecond: lastValue(changes),
    changesAgeS: staleness(changes, stepMs, to),
    refused,
    refusedTotal: refused.reduce((sum, reason) => sum + reason.total, 0),
    changesSeen: stream.total,
    streamP50: busy?.p50 ?? null,
    streamP99: busy?.p99 ?? null,
    workerLag: latestLag,
    queuePercent: queueNow === null ? null : queueNow * 100,
    slot,
    standby: workers.filter((worker) => worker.slot?.role === 'standby').length,
    listening,
    workerCount: workers.length,
    webCount: status.web.list.length,
    lastResync: resyncs[0] ?? null,
    openStreams: status.web.list.reduce((sum, web) => sum + web.openStreams, 0),
    writes: [
      { label: 'writes accepted (2xx)', color: 'sky' as const, points: accepted },
      { label: 'changes cached by workers', color: 'violet' as const, points: changes },
      { label: 'changes heard by this web process', color: 'emerald' as const, points: heard },
    ],
    refusedRates: REFUSALS.map((reason, index) => ({
      label: reason.label,
      color: (['rose', 'amber', 'violet', 'slate'] as const)[index],
      points: sumWrites(status.web.list, grid, reason.outcome),
    })),
    // A step without changes has no latency: null, bridged faintly by the chart (see its join).
    latency: [
      { label: 'commit → stream p50', color: 'sky' as const, points: stream.points.map((p) => ({ t: p.t, v: p.p50 })) },
      { label: 'commit → stream p99', color: 'violet' as const, points: stream.points.map((p) => ({ t: p.t, v: p.p99 })) },
      { label: 'worker lag (commit → cache p99)', color: 'amber' as const, points: lag },
    ],
    queue: [{ label: 'NOTIFY queue in use', color: 'emerald' as const, points: queue }],
    queueJoin: { solidMs: QUEUE_SAMPLE_GAP_MS, bridgeMs: 0 },
    knownFrom: {
      writes: earliest(writesSince, workersSince, stream.since),
      refused: writesSince,
      latency: earliest(workersSince, stream.since),
      queue: queue[0]?.t ?? Infinity,
    },
  };
}

export function ms(value: number | null): string {
  if (value === null) return '–';
  return value < 10 ? `${Math.round(value * 10) / 10} ms` : `${Math.round(value)} ms`;
}

/** A share in percent that never rounds a non-zero value to a false 0. */
export function percent(value: number | null): string {
  if (value === null) return '–';
  if (value === 0) return '0 %';
  if (value < 0.01) return '< 0.01 %';
  return `${value.toFixed(value < 1 ? 2 : value < 10 ? 1 : 0)} %`;
}
