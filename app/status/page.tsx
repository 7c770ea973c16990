import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import { StatusView } from '@/components/status/status-view';
import { isOperatorRequest } from '@/lib/http/edge-headers';
import { getStatus } from '@/lib/ops/status';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Status · Ripple' };

export default async function StatusPage() {
  // The web launcher refuses non-operators first; this covers any path it did not recognise.
  if (!isOperatorRequest(await headers())) notFound();
  return <StatusView initial={await getStatus()} />;
}
