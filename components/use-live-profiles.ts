'use client';

import { useEffect, useState } from 'react';
import { useAcceptProfile, type Profile } from './profile-store';

export type LiveState = 'connecting' | 'live' | 'reconnecting';
/** The last change this tab saw arrive, and how long after its commit. */
export type Arrival = { username: string; version: number; ms: number };

/**
 * One EventSource per page, however many profiles it shows (browsers allow
 * only six HTTP/1.1 connections per origin). EventSource reconnects by itself,
 * and the server starts every connection with a snapshot, so a drop heals
 * without a reload.
 */
export function useLiveProfiles(usernames: string[]): { state: LiveState; arrival: Arrival | null } {
  const accept = useAcceptProfile();
  const [state, setState] = useState<LiveState>('connecting');
  const [arrival, setArrival] = useState<Arrival | null>(null);
  const query = usernames.map((username) => `u=${encodeURIComponent(username)}`).join('&');

  useEffect(() => {
    const source = new EventSource(`/stream?${query}`);
    // The first event per profile on each connection is the snapshot: an old
    // value, so its age says nothing about how fast changes travel.
    let snapshotted = new Set<string>();
    source.onopen = () => {
      snapshotted = new Set();
      setState('live');
    };
    source.onerror = () => setState('reconnecting');
    source.addEventListener('profile', (event) => {
      const profile = JSON.parse((event as MessageEvent<string>).data) as Profile;
      accept(profile);
      if (!snapshotted.has(profile.username)) {
        snapshotted.add(profile.username);
        return;
      }
      // updatedAt is the database clock inside the UPDATE; this is the browser's
      // clock. They agree only on one machine, as in the demo.
      const ms = Date.now() - Date.parse(profile.updatedAt);
      if (Number.isFinite(ms)) setArrival({ username: profile.username, version: profile.version, ms });
    });
    return () => source.close();
  }, [query, accept]);

  return { state, arrival };
}
