import { checkHealth, downParts, healthSummary, logHealthErrors } from '@/lib/ops/health';
import { json } from '@/lib/http/handle';
import { isOperatorRequest } from '@/lib/http/edge-headers';
import { problem } from '@/lib/http/problem';
import { getWriteStats } from '@/lib/writes/apply-deltas';
import { withRequestMetrics } from '@/lib/ops/web-metrics';

export const dynamic = 'force-dynamic';

// Anyone may ask whether Ripple is up and what is down; only an operator
// (loopback, or OPERATOR_TOKEN) gets the figures. Raw driver errors go to the
// log, never into an answer: they name hosts, ports and users.
export const GET = withRequestMetrics('/healthz', async (request: Request) => {
  const checked = await checkHealth();
  logHealthErrors(checked);
  const health = healthSummary(checked);
  const down = downParts(health);
  const detail = isOperatorRequest(request.headers) ? { ...health, writes: getWriteStats() } : {};
  if (health.ok) return json({ status: 'ok', ...detail });
  return problem('unavailable', `Not ready: ${down.join(', ')} ${down.length > 1 ? 'are' : 'is'} down.`, { down, ...detail });
});
