import { checkHealth, healthSummary } from '@/lib/health';
import { json } from '@/lib/http';
import { problem } from '@/lib/problem';
import { getWriteStats } from '@/lib/apply-deltas';
import { withRequestMetrics } from '@/lib/web-metrics';

export const dynamic = 'force-dynamic';

export const GET = withRequestMetrics('/healthz', async () => {
  const health = healthSummary(await checkHealth());
  if (health.ok) return json({ status: 'ok', ...health, writes: getWriteStats() });
  const down = (['postgres', 'redis', 'worker'] as const).filter((part) => !health[part].ok);
  return problem('unavailable', `Not ready: ${down.join(', ')} ${down.length > 1 ? 'are' : 'is'} down.`, { down, ...health });
});
