import { clientId } from '@/lib/http/client-id';
import { handle } from '@/lib/http/handle';
import { withRequestMetrics } from '@/lib/ops/web-metrics';
import { openProfileStream, parseStreamQuery, reserveStreamSlot, SSE_HEADERS } from '@/lib/live/profile-stream';

export const dynamic = 'force-dynamic';

export const GET = withRequestMetrics('/stream', async (request: Request) =>
  handle(async () => {
    const usernames = parseStreamQuery(new URL(request.url).searchParams);
    const release = reserveStreamSlot(clientId(request));
    return new Response(openProfileStream({ usernames, signal: request.signal, onClose: release }), { headers: SSE_HEADERS });
  }),
);

// Without its own HEAD, Next answers HEAD by running GET, and that stream's
// abort never fires: every HEAD would leak an open stream.
export const HEAD = withRequestMetrics('/stream', async (request: Request) =>
  handle(async () => {
    parseStreamQuery(new URL(request.url).searchParams);
    return new Response(null, { headers: SSE_HEADERS });
  }),
);
