'use client';

import useSWR, { mutate } from 'swr';
import type { Profile } from '@/lib/profile';

export type { Profile };

export const profileKey = (username: string) => `/v1/profile/${username}`;

/** Within one epoch, the one rule for what may replace what a tab shows: only a newer version. */
export function newer(current: Profile | undefined, next: Profile): Profile {
  return current && current.version >= next.version ? current : next;
}

// The tab's version gate. Versions compare only within one epoch (the
// identity of the data): after a reset (TRUNCATE, a restore) they start
// again, so each profile's next value is taken whatever its version.
// `generation` counts the epochs this tab has seen; a value shown from an
// older generation is replaced by the next one that arrives.
let epoch: string | null = null;
let generation = 0;
const shown = new Map<string, { profile: Profile; generation: number }>();

/**
 * Offers a profile (from the stream, or the committed row a POST returned);
 * it is shown only if newer than what this tab shows. Returns whether it was.
 */
export function acceptProfile(profile: Profile): boolean {
  const entry = shown.get(profile.username);
  if (entry && entry.generation === generation && entry.profile.version >= profile.version) return false;
  shown.set(profile.username, { profile, generation });
  void mutate(profileKey(profile.username), profile, { revalidate: false });
  return true;
}

/** The server-rendered value starts the gate, so an older snapshot can never replace it. */
export function seedRendered(initial: Profile, renderEpoch: string | null): void {
  if (epoch === null && renderEpoch !== null) epoch = renderEpoch;
  const sameEpoch = renderEpoch === null || renderEpoch === epoch;
  const entry = shown.get(initial.username);
  if (!entry) {
    shown.set(initial.username, { profile: initial, generation: sameEpoch ? generation : -1 });
  } else if (sameEpoch && entry.generation === generation && entry.profile.version < initial.version) {
    shown.set(initial.username, { profile: initial, generation });
  }
}

/** The stream says which epoch its versions belong to; a new one means start over. */
export function adoptEpoch(next: string): void {
  if (epoch === null) {
    epoch = next;
  } else if (next !== epoch) {
    epoch = next;
    generation += 1;
  }
}

export function currentEpoch(): string | null {
  return epoch;
}

/** The versions this tab shows in the current epoch, for the hub to decide what to replay. */
export function shownVersions(usernames: string[]): Record<string, number> {
  const versions: Record<string, number> = {};
  for (const username of usernames) {
    const entry = shown.get(username);
    if (entry && entry.generation === generation) versions[username] = entry.profile.version;
  }
  return versions;
}

/**
 * A profile as this tab shows it. The server render seeds it; after that
 * only the live stream, and this tab's own committed writes, change it: SWR
 * holds it and re-renders whoever shows it, and nothing is ever fetched here.
 */
export function useProfile(initial: Profile, renderEpoch: string | null = null): Profile {
  seedRendered(initial, renderEpoch);
  const { data } = useSWR<Profile>(profileKey(initial.username), null, { fallbackData: initial });
  return shown.get(initial.username)?.profile ?? data ?? initial;
}
