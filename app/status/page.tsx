import type { Metadata } from 'next';
import { StatusView } from '@/components/status/status-view';
import { getStatus } from '@/lib/ops/status';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Status · Ripple' };

export default async function StatusPage() {
  return <StatusView initial={await getStatus()} />;
}
