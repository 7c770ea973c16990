'use client';

import useSWR from 'swr';
import type { SystemStatus } from '@/lib/ops/status';

async function fetchStatus(url: string): Promise<SystemStatus> {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.json() as Promise<SystemStatus>;
}

/**
 * The status figures, polled every second. Polling (not a stream) keeps the
 * status page out of the very pipeline it watches: it still works when Redis
 * pub/sub or the worker is down, which is when people look at it.
 */
export function useStatus(initial: SystemStatus) {
  return useSWR('/v1/status', fetchStatus, { fallbackData: initial, refreshInterval: 1_000, revalidateOnMount: false, dedupingInterval: 500 });
}
