import type { Badge, LiveView } from './use-live-profiles';

const LABELS: Record<Badge, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  paused: 'Updates paused',
};

/** Says, per tab, whether the numbers on this page are following the database right now. */
export function LiveBadge({ view }: { view: LiveView }) {
  const live = view.badge === 'live';
  return (
    <span
      data-testid="live-status"
      data-state={view.badge}
      data-mode={view.mode ?? ''}
      role="status"
      title={view.reason ?? 'Numbers here change as soon as the database does.'}
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-1 text-xs font-medium ${
        live
          ? 'bg-emerald-50 text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300'
          : 'bg-amber-50 text-amber-800 dark:bg-amber-950 dark:text-amber-300'
      }`}
    >
      <span aria-hidden className={`h-2 w-2 rounded-full ${live ? 'animate-pulse bg-emerald-500' : 'bg-amber-500'}`} />
      {LABELS[view.badge]}
    </span>
  );
}

/** Why the page is not live, in words, for as long as it is not: paused, offline or reconnecting. */
export function LiveNotice({ view }: { view: LiveView }) {
  if (!view.reason) return null;
  return (
    <p
      data-testid="live-notice"
      data-state={view.badge}
      role="status"
      className="rounded-2xl border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950/60 dark:text-amber-200"
    >
      {view.reason}
    </p>
  );
}
