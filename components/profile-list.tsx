'use client';

import Link from 'next/link';
import { AnimatedNumber } from './animated-number';
import { Avatar } from './avatar';
import { LiveBadge } from './live-badge';
import { useProfile, type Profile } from './profile-store';
import { useLiveProfiles } from './use-live-profiles';

function ProfileRow({ initial }: { initial: Profile }) {
  const profile = useProfile(initial);
  const stats: Array<[string, number, string]> = [
    ['followers', profile.followers, 'Followers'],
    ['followings', profile.followings, 'Following'],
    ['likes', profile.likes, 'Likes'],
  ];
  return (
    <li data-testid={`profile-row-${profile.username}`}>
      <Link
        href={`/${profile.username}`}
        className="flex items-center gap-4 rounded-2xl px-4 py-3 transition hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-500 dark:hover:bg-slate-800/60"
      >
        <Avatar username={profile.username} displayName={profile.displayName} />
        <span className="min-w-0 flex-1">
          <span className="block truncate font-semibold">{profile.displayName}</span>
          <span className="block truncate text-sm text-slate-500 dark:text-slate-400">@{profile.username}</span>
        </span>
        <span className="flex gap-2 text-right sm:gap-5">
          {stats.map(([counter, value, label]) => (
            <span key={counter} className="w-14 sm:w-20">
              <span data-testid={`counter-${counter}`} data-value={value} aria-live="polite" className="block text-sm font-semibold tabular-nums sm:text-base">
                <AnimatedNumber value={value} />
              </span>
              <span className="block text-xs text-slate-500 dark:text-slate-400">{label}</span>
            </span>
          ))}
        </span>
      </Link>
    </li>
  );
}

export function ProfileList({ initial }: { initial: Profile[] }) {
  const { state: live } = useLiveProfiles(initial.map((profile) => profile.username));
  return (
    <section className="rounded-3xl border border-slate-200 bg-white p-2 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <div className="flex items-center justify-between px-4 py-3">
        <h1 className="text-xl font-bold tracking-tight">Profiles</h1>
        <LiveBadge state={live} />
      </div>
      <ul className="divide-y divide-slate-100 dark:divide-slate-800">
        {initial.map((profile) => (
          <ProfileRow key={profile.username} initial={profile} />
        ))}
      </ul>
    </section>
  );
}
