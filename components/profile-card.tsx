'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { Avatar } from './avatar';
import { CounterControl } from './counter-control';
import { LatencyBadge } from './latency-badge';
import { LiveBadge, LiveNotice } from './live-badge';
import { acceptProfile, useProfile, type Profile } from './profile-store';
import { sendDelta, type Counter } from './send-delta';
import { useLiveProfiles } from './use-live-profiles';

const COUNTERS: Array<[Counter, string]> = [
  ['followers', 'Followers'],
  ['followings', 'Following'],
  ['likes', 'Likes'],
];

export function ProfileCard({ initial, epoch }: { initial: Profile; epoch: string | null }) {
  const profile = useProfile(initial, epoch);
  const live = useLiveProfiles([initial.username]);
  const [error, setError] = useState<string | null>(null);
  const clearTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const gone = live.unknown.includes(initial.username);
  const arrival = live.arrival?.username === initial.username ? live.arrival : null;

  useEffect(() => () => clearTimeout(clearTimer.current), []);

  const change = useCallback(
    async (counter: Counter, delta: number) => {
      const result = await sendDelta(initial.username, counter, delta);
      // The committed row is the database's own answer: show it at once, through
      // the same gate as the stream (which may already have brought something newer).
      if (result.profile) acceptProfile(result.profile);
      clearTimeout(clearTimer.current);
      setError(result.error);
      if (result.error) clearTimer.current = setTimeout(() => setError(null), 6_000);
    },
    [initial.username],
  );

  return (
    <article className="overflow-hidden rounded-3xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <div aria-hidden className="h-28 bg-gradient-to-r from-sky-400 via-indigo-400 to-violet-400 sm:h-36" />
      <div className="px-5 pb-6 sm:px-8">
        <div className="-mt-10 flex items-end justify-between">
          <Avatar username={profile.username} displayName={profile.displayName} size="lg" />
          <span className="flex flex-wrap items-center justify-end gap-2">
            <LatencyBadge arrival={arrival} />
            <LiveBadge view={live} />
          </span>
        </div>
        <h1 className="mt-3 text-2xl font-bold tracking-tight break-words" data-testid="display-name">
          {profile.displayName}
        </h1>
        <p className="text-slate-500 dark:text-slate-400">@{profile.username}</p>
        {profile.bio && <p className="mt-3 leading-relaxed">{profile.bio}</p>}

        <section aria-label="Counters" className="mt-6 grid grid-cols-3 gap-2 sm:gap-4">
          {COUNTERS.map(([counter, label]) => (
            <CounterControl key={counter} counter={counter} label={label} value={profile[counter]} onChange={change} disabled={gone} />
          ))}
        </section>

        <div className="mt-4 space-y-2">
          {gone && (
            <p data-testid="profile-gone" role="status" className="text-sm text-rose-600 dark:text-rose-400">
              This profile no longer exists; the numbers above are the last ones it had.
            </p>
          )}
          <LiveNotice view={live} />
          <p
            data-testid="profile-error"
            role="status"
            aria-live="polite"
            className={`min-h-6 text-sm ${error ? 'text-rose-600 dark:text-rose-400' : 'text-slate-400 dark:text-slate-500'}`}
          >
            {error ??
              `Version ${profile.version} · every number here came from Postgres.${arrival ? ' The latency compares the database clock with this browser’s: one machine in this demo.' : ''}`}
          </p>
        </div>
      </div>
    </article>
  );
}
