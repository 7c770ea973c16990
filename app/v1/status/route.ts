import { handle, json } from '@/lib/http';
import { getStatus } from '@/lib/status';
import { withRequestMetrics } from '@/lib/web-metrics';

export const dynamic = 'force-dynamic';

export const GET = withRequestMetrics('/v1/status', async () => handle(async () => json(await getStatus())));
