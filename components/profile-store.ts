'use client';

import { useSWRConfig } from 'swr';
import useSWR from 'swr';
import { useCallback } from 'react';

import type { Profile } from '@/lib/profile';

export type { Profile };

export const profileKey = (username: string) => `/v1/profile/${username}`;

/** The one rule for what may replace what a tab shows: only a newer version. */
export function newer(current: Profile | undefined, next: Profile): Profile {
  return current && current.version >= next.version ? current : next;
}

async function fetchProfile(url: string): Promise<Profile> {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.json() as Promise<Profile>;
}

/**
 * A profile as this tab knows it. The server render seeds it; after that only
 * the live stream changes it (see useLiveProfiles), so no request is made here.
 */
export function useProfile(initial: Profile): Profile {
  const { data } = useSWR(profileKey(initial.username), fetchProfile, {
    fallbackData: initial,
    revalidateOnMount: false,
    revalidateIfStale: false,
    revalidateOnFocus: false,
    revalidateOnReconnect: false,
  });
  return data ?? initial;
}

/** Offers a profile to the store; it is kept only if newer than what is shown. */
export function useAcceptProfile(): (profile: Profile) => void {
  const { mutate } = useSWRConfig();
  return useCallback(
    (profile: Profile) => {
      void mutate(profileKey(profile.username), (current?: Profile) => newer(current, profile), { revalidate: false });
    },
    [mutate],
  );
}
