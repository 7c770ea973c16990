import { checkHealth, downParts, healthSummary } from '@/lib/ops/health';
import { json } from '@/lib/http/handle';
import { problem } from '@/lib/http/problem';
import { getWriteStats } from '@/lib/writes/apply-deltas';
import { withRequestMetrics } from '@/lib/ops/web-metrics';

export const dynamic = 'force-dynamic';

export const GET = withRequestMetrics('/healthz', async () => {
  const health = healthSummary(await checkHealth());
  if (health.ok) return json({ status: 'ok', ...health, writes: getWriteStats() });
  const down = downParts(health);
  return problem('unavailable', `Not ready: ${down.join(', ')} ${down.length > 1 ? 'are' : 'is'} down.`, { down, ...health });
});
