'use client';

import Link from 'next/link';
import { AnimatedNumber } from './animated-number';
import { Avatar } from './avatar';
import { LiveBadge, LiveNotice } from './live-badge';
import { useProfile, type Profile } from './profile-store';
import { useLiveProfiles } from './use-live-profiles';

function ProfileRow({ initial, epoch }: { initial: Profile; epoch: string | null }) {
  const profile = useProfile(initial, epoch);
  const stats: Array<[string, number, string]> = [
    ['followers', profile.followers, 'Followers'],
    ['followings', profile.followings, 'Following'],
    ['likes', profile.likes, 'Likes'],
  ];
  return (
    <li data-testid={`profile-row-${profile.username}`}>
      <Link
        href={`/${profile.username}`}
        className="flex items-start gap-3 rounded-2xl px-3 py-3 transition hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-500 sm:items-center sm:gap-4 sm:px-4 dark:hover:bg-slate-800/60"
      >
        <Avatar username={profile.username} displayName={profile.displayName} />
        {/* On a phone the counters go under the name, so the name keeps the whole row. */}
        <span className="flex min-w-0 flex-1 flex-col gap-1.5 sm:flex-row sm:items-center sm:gap-4">
          <span className="min-w-0 sm:flex-1">
            <span data-testid="profile-name" className="block font-semibold break-words">
              {profile.displayName}
            </span>
            <span className="block truncate text-sm text-slate-500 dark:text-slate-400">@{profile.username}</span>
          </span>
          <span className="flex gap-4 sm:gap-5 sm:text-right">
            {stats.map(([counter, value, label]) => (
              <span key={counter} className="sm:w-20">
                <span data-testid={`counter-${counter}`} data-value={value} aria-live="polite" className="block text-sm font-semibold tabular-nums sm:text-base">
                  <AnimatedNumber value={value} />
                </span>
                <span className="block text-xs text-slate-500 dark:text-slate-400">{label}</span>
              </span>
            ))}
          </span>
        </span>
      </Link>
    </li>
  );
}

export function ProfileList({ initial, epoch }: { initial: Profile[]; epoch: string | null }) {
  const live = useLiveProfiles(initial.map((profile) => profile.username));
  return (
    <section className="rounded-3xl border border-slate-200 bg-white p-2 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <div className="flex items-center justify-between px-4 py-3">
        <h1 className="text-xl font-bold tracking-tight">Profiles</h1>
        <LiveBadge view={live} />
      </div>
      {live.reason && (
        <div className="px-2 pb-2">
          <LiveNotice view={live} />
        </div>
      )}
      <ul className="divide-y divide-slate-100 dark:divide-slate-800">
        {initial.map((profile) => (
          <ProfileRow key={profile.username} initial={profile} epoch={epoch} />
        ))}
      </ul>
    </section>
  );
}
