'use client';

import { useEffect, useSyncExternalStore } from 'react';
import { liveClient, SERVER_VIEW, type LiveView } from './live/live-client';

export type { Arrival, Badge, LiveView } from './live/live-client';

const subscribe = (listener: () => void) => liveClient().subscribe(listener);
const view = () => liveClient().getView();
const serverView = () => SERVER_VIEW;

/**
 * Keeps these profiles live in this tab for as long as the component is
 * mounted, over the browser's one shared stream (see live/live-client.ts),
 * and returns the tab's live view for its badges.
 */
export function useLiveProfiles(usernames: string[]): LiveView {
  const key = usernames.join(',');
  useEffect(() => (key ? liveClient().watch(key.split(',')) : undefined), [key]);
  return useSyncExternalStore(subscribe, view, serverView);
}
