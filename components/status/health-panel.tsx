import type { SystemStatus } from '@/lib/ops/status';

function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return seconds < 60 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}

function Row({ name, ok, detail, error, testId }: { name: string; ok: boolean; detail: string; error?: string | null; testId: string }) {
  return (
    <li data-testid={testId} data-ok={ok} className="flex items-start gap-3 py-3">
      <span aria-hidden className={`mt-1.5 h-2.5 w-2.5 shrink-0 rounded-full ${ok ? 'bg-emerald-500' : 'bg-rose-500'}`} />
      <span className="min-w-0 flex-1">
        <span className="flex flex-wrap items-baseline justify-between gap-x-3">
          <span className="font-semibold">
            {name} <span className="sr-only">{ok ? 'healthy' : 'down'}</span>
          </span>
          <span className="text-sm text-slate-500 dark:text-slate-400">{detail}</span>
        </span>
        {error && <span className={`block text-sm ${ok ? 'text-slate-500 dark:text-slate-400' : 'text-rose-600 dark:text-rose-400'}`}>{ok ? `Last error: ${error}` : error}</span>}
      </span>
    </li>
  );
}

/** Postgres, Redis, then every worker, each with its last error in plain words. */
export function HealthPanel({ status }: { status: SystemStatus }) {
  const now = Date.parse(status.at);
  const { postgres, redis, workers } = status;
  return (
    <section aria-labelledby="health-title" className="rounded-2xl border border-slate-200 bg-white px-4 py-2 dark:border-slate-800 dark:bg-slate-900">
      <h2 id="health-title" className="pt-2 font-semibold">Health</h2>
      <ul className="divide-y divide-slate-100 dark:divide-slate-800">
        <Row testId="health-postgres" name="PostgreSQL" ok={postgres.ok} detail={postgres.ok ? `answers in ${postgres.ms} ms` : 'unreachable'} error={postgres.error} />
        <Row
          testId="health-redis"
          name={redis.primaries === undefined ? 'Redis' : 'Redis Cluster'}
          ok={redis.ok}
          detail={redis.ok ? `answers in ${redis.ms} ms${redis.primaries === undefined ? '' : ` · ${redis.primaries} primaries`}` : 'unreachable'}
          error={redis.error}
        />
        {workers.list.length === 0 && <Row testId="health-workers" name="Workers" ok={false} detail="none announced" error={workers.error} />}
        {workers.list.map((worker) => (
          <Row
            key={worker.id}
            testId="health-worker"
            name={`Worker ${worker.host} · pid ${worker.pid}`}
            ok={worker.listening || worker.slot?.role === 'standby'}
            detail={`${worker.slot ? `${worker.slot.role === 'streaming' ? (worker.listening ? 'streaming' : 'catching up') : worker.slot.role === 'standby' ? 'standby (another worker streams)' : 'connecting'} · slot ${worker.slot.name}` : worker.listening ? 'listening' : 'not listening'} · started ${ago(worker.startedAt, now)}${worker.metricsPort ? ` · :${worker.metricsPort}/metrics` : ''}`}
            error={worker.plainError ? `${worker.plainError} (${ago(worker.lastErrorAt, now)})` : null}
          />
        ))}
      </ul>
    </section>
  );
}

export { ago };
