'use client';

import type { SystemStatus } from '@/lib/ops/status';
import { figures, ms } from './figures';
import { ago, HealthPanel } from './health-panel';
import { Histogram } from './histogram';
import { LineChart } from './line-chart';
import { useStatus } from './use-status';

function Tile({ label, value, hint, testId, raw }: { label: string; value: string; hint?: string; testId: string; raw: number | null }) {
  return (
    <div className="rounded-2xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</div>
      <div data-testid={testId} data-value={raw ?? ''} className="mt-1 text-2xl font-bold tabular-nums">
        {value}
      </div>
      {hint && <div className="mt-0.5 text-xs text-slate-500 [overflow-wrap:anywhere] dark:text-slate-400">{hint}</div>}
    </div>
  );
}

export function StatusView({ initial }: { initial: SystemStatus }) {
  const { data, error } = useStatus(initial);
  const status = data ?? initial;
  const f = figures(status);
  const now = Date.parse(status.at);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-bold tracking-tight">System status</h1>
        <p role="status" data-testid="status-freshness" className={`text-sm ${error ? 'text-rose-600 dark:text-rose-400' : 'text-slate-500 dark:text-slate-400'}`}>
          {error ? 'Cannot reach this web server; showing the last figures.' : `Updated every second · ${new Date(status.at).toLocaleTimeString('en-GB')}`}
        </p>
      </div>

      <section aria-label="Vital signs" className="grid grid-cols-2 gap-3 sm:grid-cols-4">
        <Tile testId="stat-updates-per-second" label="Updates / s" value={String(f.updatesPerSecond)} raw={f.updatesPerSecond} hint="seen by this web process" />
        <Tile testId="stat-changes-seen" label="Changes seen" value={f.changesSeen.toLocaleString('en-US')} raw={f.changesSeen} hint="since this process started" />
        <Tile testId="stat-stream-latency" label="Commit → stream" value={ms(f.streamP50)} raw={f.streamP50} hint={`p50 · p99 ${ms(f.streamP99)} · latest ${f.stepS} s with changes`} />
        <Tile testId="stat-worker-lag" label="Worker lag" value={ms(f.workerLag)} raw={f.workerLag} hint="commit → cache, p99" />
        <Tile testId="stat-queue" label="NOTIFY queue" value={f.queuePercent === null ? '–' : `${f.queuePercent.toFixed(f.queuePercent < 1 ? 2 : 0)} %`} raw={f.queuePercent} hint="pg_notification_queue_usage()" />
        <Tile testId="stat-open-streams" label="Open streams" value={String(f.openStreams)} raw={f.openStreams} hint={`over ${status.web.list.length} web process${status.web.list.length === 1 ? '' : 'es'}`} />
        <Tile testId="stat-workers" label="Workers listening" value={`${f.listening} / ${f.workerCount}`} raw={f.listening} />
        <Tile
          testId="stat-last-resync"
          label="Last resync"
          value={f.lastResync ? `${f.lastResync.ms} ms` : '–'}
          raw={f.lastResync?.ms ?? null}
          hint={f.lastResync ? `${f.lastResync.profiles} profiles, ${ago(f.lastResync.at, now)}` : 'none yet'}
        />
      </section>

      <div className="grid gap-3 lg:grid-cols-2">
        <LineChart testId="chart-rate" title="Updates per second" unit="/s" series={f.rate} from={f.from} to={f.to} />
        <LineChart testId="chart-latency" title="Propagation latency" unit="ms" series={f.latency} from={f.from} to={f.to} />
        <Histogram boundsMs={status.web.stream.histogram.boundsMs} counts={status.web.stream.histogram.counts} />
        <LineChart testId="chart-queue" title="NOTIFY queue usage" unit="%" series={f.queue} from={f.from} to={f.to} />
      </div>

      <HealthPanel status={status} />

      <section aria-labelledby="web-title" className="rounded-2xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
        <h2 id="web-title" className="font-semibold">Web processes</h2>
        <table className="mt-2 w-full text-left text-sm">
          <thead className="text-slate-500 dark:text-slate-400">
            <tr>
              <th className="py-1 font-medium">Process</th>
              <th className="py-1 text-right font-medium">Open streams</th>
              <th className="py-1 text-right font-medium">Changes heard</th>
            </tr>
          </thead>
          <tbody className="tabular-nums">
            {status.web.list.map((web) => (
              <tr key={web.id} data-testid="web-process" className="border-t border-slate-100 dark:border-slate-800">
                <td className="py-1.5">
                  {web.host} · pid {web.pid} {web.id === status.web.self && <span className="text-slate-500 dark:text-slate-400">(answering this page)</span>}
                </td>
                <td className="py-1.5 text-right">{web.openStreams}</td>
                <td className="py-1.5 text-right">{web.received.toLocaleString('en-US')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <p className="text-xs text-slate-500 dark:text-slate-400">
        Latencies run from the row&apos;s <code>updated_at</code> (the database clock, taken inside the UPDATE) to the moment a process
        handled the change, so they assume one clock: true in this demo, where everything runs on one machine. Long-term history lives
        in Prometheus: scrape <code>/metrics</code> on each web process and each worker.
      </p>
    </div>
  );
}
