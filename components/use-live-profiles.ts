'use client';

import { useEffect, useState } from 'react';
import { useAcceptProfile, type Profile } from './profile-store';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

/**
 * One EventSource per page, however many profiles it shows (browsers allow
 * only six HTTP/1.1 connections per origin). EventSource reconnects by itself,
 * and the server starts every connection with a snapshot, so a drop heals
 * without a reload.
 */
export function useLiveProfiles(usernames: string[]): LiveState {
  const accept = useAcceptProfile();
  const [state, setState] = useState<LiveState>('connecting');
  const query = usernames.map((username) => `u=${encodeURIComponent(username)}`).join('&');

  useEffect(() => {
    const source = new EventSource(`/stream?${query}`);
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    source.addEventListener('profile', (event) => {
      accept(JSON.parse((event as MessageEvent<string>).data) as Profile);
    });
    return () => source.close();
  }, [query, accept]);

  return state;
}
