import { handle, json } from '@/lib/http/handle';
import { isOperatorRequest } from '@/lib/http/edge-headers';
import { problem } from '@/lib/http/problem';
import { getStatus } from '@/lib/ops/status';
import { withRequestMetrics } from '@/lib/ops/web-metrics';

export const dynamic = 'force-dynamic';

// The web launcher already refuses anyone who is not an operator; this repeats
// it for any path Next routes here that the launcher did not recognise.
export const GET = withRequestMetrics('/v1/status', async (request: Request) =>
  handle(async () =>
    isOperatorRequest(request.headers)
      ? json(await getStatus())
      : problem('forbidden', 'This operator page is open only from the machine Ripple runs on, or with OPERATOR_TOKEN.'),
  ),
);
