import { handle, json } from '@/lib/http/handle';
import { getStatus } from '@/lib/ops/status';
import { withRequestMetrics } from '@/lib/ops/web-metrics';

export const dynamic = 'force-dynamic';

export const GET = withRequestMetrics('/v1/status', async () => handle(async () => json(await getStatus())));
