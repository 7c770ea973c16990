import type { Profile } from '../../lib/profile';
import type { SseEvent } from './http';

/**
 * What a client that follows the stream protocol shows, given the events it
 * received in order: a new `epoch` makes it forget every version it holds; a
 * profile is taken only when newer than what it shows; `unknown` removes one.
 * Versions it started from (`u=name@version`) count as shown.
 */
export function shown(events: SseEvent[], startFrom: Record<string, number> = {}) {
  let epoch: string | null | undefined;
  const versions = new Map<string, number>(Object.entries(startFrom));
  const profiles = new Map<string, Profile | 'unknown'>();
  const epochs: Array<string | null> = [];
  const pipeline: Array<{ live: boolean; reason?: string }> = [];
  for (const { event, data } of events) {
    const value = JSON.parse(data);
    if (event === 'epoch') {
      if (epoch !== undefined && value.epoch !== epoch) versions.clear();
      epoch = value.epoch;
      epochs.push(value.epoch);
    } else if (event === 'profile') {
      const profile = value as Profile;
      if ((versions.get(profile.username) ?? 0) >= profile.version) continue;
      versions.set(profile.username, profile.version);
      profiles.set(profile.username, profile);
    } else if (event === 'unknown') {
      for (const username of value.usernames as string[]) profiles.set(username, 'unknown');
    } else if (event === 'pipeline') {
      pipeline.push(value);
    }
  }
  return { epoch, epochs, profiles, pipeline };
}
