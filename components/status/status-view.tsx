'use client';

import type { ReactNode } from 'react';
import type { SystemStatus } from '@/lib/ops/status';
import { formatValue } from './axis';
import { figures, ms, percent } from './figures';
import { ago, HealthPanel } from './health-panel';
import { Histogram } from './histogram';
import { LineChart } from './line-chart';
import { useStatus } from './use-status';

function Tile({ label, value, hint, testId, raw }: { label: string; value: string; hint?: ReactNode; testId: string; raw: number | null }) {
  return (
    <div className="rounded-2xl border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</div>
      <div data-testid={testId} data-value={raw ?? ''} className="mt-1 text-2xl font-bold tabular-nums">
        {value}
      </div>
      {hint && <div className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">{hint}</div>}
    </div>
  );
}

/** One process's writes over the window: accepted, and the rest (refused or failed). */
function writesOf(web: SystemStatus['web']['list'][number]) {
  let accepted = 0;
  let refused = 0;
  for (const point of web.writes?.points ?? []) {
    for (const [outcome, count] of Object.entries(point.counts)) {
      if (outcome === 'accepted') accepted += count ?? 0;
      else refused += count ?? 0;
    }
  }
  return { accepted, refused };
}

/** Says when a figure is older than the page's last step (another process's last announcement). */
/** WAL bytes as people read them: 0 B, 812 B, 14.2 kB, 3.1 MB. */
const bytes = (value: number | null) => {
  if (value === null) return '–';
  const [unit, size] = value >= 1e9 ? ['GB', 1e9] : value >= 1e6 ? ['MB', 1e6] : value >= 1e3 ? ['kB', 1e3] : ['B', 1];
  return `${unit === 'B' ? value : (value / (size as number)).toFixed(1)} ${unit}`;
};

const asOf = (ageS: number | null) => (ageS === null ? '' : `, as of ${ageS} s ago`);

const COALESCING =
  'Accepted writes and changes differ because writes to one profile that arrive together are coalesced: many writes, one UPDATE, one new version, one change.';

export function StatusView({ initial }: { initial: SystemStatus }) {
  const { data, error } = useStatus(initial);
  const status = data ?? initial;
  const f = figures(status);
  const now = Date.parse(status.at);
  const minutes = Math.round((f.to - f.from) / 60_000);
  const webProcesses = `${f.webCount} web process${f.webCount === 1 ? '' : 'es'}`;
  const stepJoin = { solidMs: f.stepS * 1000, bridgeMs: 0 };

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-bold tracking-tight">System status</h1>
        <p role="status" data-testid="status-freshness" className={`text-sm ${error ? 'text-rose-600 dark:text-rose-400' : 'text-slate-500 dark:text-slate-400'}`}>
          {error ? 'Cannot reach this web server; showing the last figures.' : `Updated every second · ${new Date(status.at).toLocaleTimeString('en-GB')}`}
        </p>
      </div>

      <section aria-label="Vital signs" className="grid grid-cols-2 gap-3 lg:grid-cols-5">
        <Tile testId="stat-accepted-per-second" label="Writes / s" value={formatValue(f.acceptedPerSecond)} raw={f.acceptedPerSecond} hint={`accepted, over ${webProcesses}${asOf(f.acceptedAgeS)}`} />
        <Tile
          testId="stat-refused"
          label="Writes refused"
          value={f.refusedTotal.toLocaleString('en-US')}
          raw={f.refusedTotal}
          hint={
            <>
              last {minutes} min
              {f.refused.map((reason) => (
                <span key={reason.outcome} data-testid={`refused-${reason.outcome}`} data-value={reason.total}>
                  {' · '}
                  {reason.total.toLocaleString('en-US')} {reason.short}
                </span>
              ))}
            </>
          }
        />
        <Tile testId="stat-changes-per-second" label="Changes / s" value={formatValue(f.changesPerSecond)} raw={f.changesPerSecond} hint={`new versions cached by workers${asOf(f.changesAgeS)}`} />
        <Tile testId="stat-changes-seen" label="Changes seen" value={f.changesSeen.toLocaleString('en-US')} raw={f.changesSeen} hint="by this web process since it started, for profiles its streams watch" />
        <Tile testId="stat-stream-latency" label="Commit → stream" value={ms(f.streamP50)} raw={f.streamP50} hint={`p50 · p99 ${ms(f.streamP99)} · latest ${f.stepS} s with changes`} />
        <Tile testId="stat-worker-lag" label="Worker lag" value={ms(f.workerLag)} raw={f.workerLag} hint="commit → cache, p99" />
        {f.slot ? (
          <Tile
            testId="stat-slot-lag"
            label="Slot lag"
            value={bytes(f.slot.lagBytes)}
            raw={f.slot.lagBytes}
            hint={
              <>
                <span data-testid="stat-slot-lag-ms">{f.slot.lagMs === null ? 'no worker streaming' : `${ms(f.slot.lagMs)} behind`}</span> · <code>{f.slot.name}</code>
                {f.slot.walStatus && f.slot.walStatus !== 'reserved' ? ` · WAL ${f.slot.walStatus}` : ''}
              </>
            }
          />
        ) : (
          <Tile
            testId="stat-queue"
            label="NOTIFY queue"
            value={percent(f.queuePercent)}
            raw={f.queuePercent}
            // Break the function's name only at its underscores, never mid-word.
            hint={<code>pg_<wbr />notification_<wbr />queue_<wbr />usage()</code>}
          />
        )}
        <Tile testId="stat-open-streams" label="Open streams" value={String(f.openStreams)} raw={f.openStreams} hint={`over ${webProcesses}`} />
        <Tile
          testId="stat-workers"
          label="Workers listening"
          value={`${f.listening} / ${f.workerCount}`}
          raw={f.listening}
          hint={f.standby ? `${f.standby} standby, waiting to take over the slot` : undefined}
        />
        <Tile
          testId="stat-last-resync"
          label="Last resync"
          value={f.lastResync ? `${f.lastResync.ms} ms` : '–'}
          raw={f.lastResync?.ms ?? null}
          hint={f.lastResync ? `${f.lastResync.profiles} profiles, ${ago(f.lastResync.at, now)}` : 'none yet'}
        />
      </section>

      <div className="grid gap-3 lg:grid-cols-2">
        <LineChart
          testId="chart-writes"
          title="Writes and changes per second"
          axisUnit="per second"
          unit="/s"
          series={f.writes}
          from={f.from}
          to={f.to}
          join={stepJoin}
          minTop={1}
          knownFrom={f.knownFrom.writes}
          note={`Writes over ${webProcesses}. ${COALESCING}`}
        />
        <LineChart
          testId="chart-refused"
          title="Refused writes per second"
          axisUnit="per second"
          unit="/s"
          series={f.refusedRates}
          from={f.from}
          to={f.to}
          join={stepJoin}
          minTop={1}
          knownFrom={f.knownFrom.refused}
          note={`Over ${webProcesses}: 429 is the client's write rate limit, 409 a counter that would go below zero, any other 4xx a malformed or misdirected request.`}
        />
        <LineChart
          testId="chart-latency"
          title="Propagation latency"
          axisUnit="ms, log scale"
          unit=" ms"
          series={f.latency}
          from={f.from}
          to={f.to}
          join={{ solidMs: f.stepS * 1000, bridgeMs: Infinity }}
          minTop={10}
          log={{ floor: 0.1 }}
          knownFrom={f.knownFrom.latency}
          note="A step with no change has no latency to time: a faint line crosses it, and a dot marks a value on its own. 0.1 ms or less sits on the bottom line."
        />
        <Histogram boundsMs={status.web.stream.histogram.boundsMs} counts={status.web.stream.histogram.counts} />
        <LineChart
          testId="chart-queue"
          title="NOTIFY queue usage"
          axisUnit="% of the queue"
          unit=" %"
          series={f.queue}
          from={f.from}
          to={f.to}
          join={f.queueJoin}
          minTop={1}
          knownFrom={f.knownFrom.queue}
          note="Notifications waiting until every listener has read them, as workers sample it every 5 s. The axis spans at least 0–1 %."
          className="lg:col-span-2"
        />
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
              <th className="py-1 text-right font-medium">
                Writes, {minutes} min <span className="font-normal">(not accepted)</span>
              </th>
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
                <td className="py-1.5 text-right" data-testid="web-process-writes">
                  {writesOf(web).accepted.toLocaleString('en-US')} <span className="text-slate-500 dark:text-slate-400">({writesOf(web).refused.toLocaleString('en-US')})</span>
                </td>
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
