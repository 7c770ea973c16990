import type { Point } from '@/lib/ops/rolling';
import type { SystemStatus } from '@/lib/ops/status';

// Turns the status answer into what the tiles and charts draw.

/** For each time step, the largest of the workers' values (the slowest worker is the one that matters). */
function mergeMax(lists: Array<Array<{ t: number; v: number | null }>>): Array<{ t: number; v: number | null }> {
  const byT = new Map<number, number | null>();
  for (const list of lists) for (const { t, v } of list) byT.set(t, v === null ? (byT.get(t) ?? null) : Math.max(v, byT.get(t) ?? 0));
  return [...byT.entries()].sort(([a], [b]) => a - b).map(([t, v]) => ({ t, v }));
}

/** The last finished step: the one in progress has too few events to say much. */
function lastDone(points: Point[]): Point | undefined {
  return points.length > 1 ? points[points.length - 2] : points[0];
}

export function figures(status: SystemStatus) {
  const { stream } = status.web;
  const to = Date.parse(status.at);
  const from = to - stream.windowS * 1000;
  const workers = status.workers.list;
  const listening = workers.filter((worker) => worker.listening).length;
  const lag = mergeMax(workers.map((worker) => (worker.commitToCache?.points ?? []).map((p) => ({ t: p.t, v: p.p99 }))));
  const applied = mergeMax(workers.map((worker) => (worker.commitToCache?.points ?? []).map((p) => ({ t: p.t, v: p.perSecond }))));
  const queue = mergeMax(workers.map((worker) => (worker.queueHistory ?? []).map((q) => ({ t: q.t, v: q.usage * 100 }))));
  const recent = lastDone(stream.points);
  // Latency of the latest step that saw changes: a quiet minute has no latency to show, but the last one still holds.
  const busy = [...stream.points].reverse().find((point) => point.p50 !== null);
  const latestLag = [...lag].reverse().find((p) => p.v !== null)?.v ?? null;
  const resyncs = workers.flatMap((worker) => (worker.lastResync ? [worker.lastResync] : [])).sort((a, b) => b.at.localeCompare(a.at));
  const queueNow = workers.reduce<number | null>((max, worker) => (worker.queueUsage === null ? max : Math.max(max ?? 0, worker.queueUsage)), null);

  return {
    from,
    to,
    updatesPerSecond: recent?.perSecond ?? 0,
    changesSeen: stream.total,
    streamP50: busy?.p50 ?? null,
    streamP99: busy?.p99 ?? null,
    stepS: stream.stepS,
    workerLag: latestLag,
    queuePercent: queueNow === null ? null : queueNow * 100,
    listening,
    workerCount: workers.length,
    lastResync: resyncs[0] ?? null,
    openStreams: status.web.list.reduce((sum, web) => sum + web.openStreams, 0),
    rate: [
      { label: 'seen by this web process', color: 'sky' as const, points: stream.points.map((p) => ({ t: p.t, v: p.perSecond })) },
      { label: 'applied by workers', color: 'violet' as const, points: applied },
    ],
    latency: [
      { label: 'commit → stream p50', color: 'sky' as const, points: stream.points.map((p) => ({ t: p.t, v: p.p50 })) },
      { label: 'commit → stream p99', color: 'violet' as const, points: stream.points.map((p) => ({ t: p.t, v: p.p99 })) },
      { label: 'worker lag (commit → cache p99)', color: 'amber' as const, points: lag },
    ],
    queue: [{ label: 'NOTIFY queue in use', color: 'emerald' as const, points: queue }],
  };
}

export function ms(value: number | null): string {
  if (value === null) return '–';
  return value < 10 ? `${Math.round(value * 10) / 10} ms` : `${Math.round(value)} ms`;
}
