import { clientId } from '@/lib/http/client-id';
import { handle } from '@/lib/http/handle';
import { withRequestMetrics } from '@/lib/ops/web-metrics';
import { openProfileStream, parseStreamQuery, refuseWhileShuttingDown, reserveStreamSlot, SSE_HEADERS } from '@/lib/live/profile-stream';

export const dynamic = 'force-dynamic';

export const GET = withRequestMetrics('/stream', async (request: Request) =>
  handle(async () => {
    const query = parseStreamQuery(new URL(request.url).searchParams);
    refuseWhileShuttingDown();
    const release = reserveStreamSlot(clientId(request));
    try {
      return new Response(await openProfileStream({ query, signal: request.signal, onClose: release }), { headers: SSE_HEADERS });
    } catch (error) {
      release();
      throw error;
    }
  }),
);

// Without its own HEAD, Next answers HEAD by running GET, and that stream's
// abort never fires: every HEAD would leak an open stream.
export const HEAD = withRequestMetrics('/stream', async (request: Request) =>
  handle(async () => {
    parseStreamQuery(new URL(request.url).searchParams);
    refuseWhileShuttingDown();
    return new Response(null, { headers: SSE_HEADERS });
  }),
);
