import { handle, json, parseUsername } from '@/lib/http/handle';
import { ProblemError } from '@/lib/http/problem';
import { COUNTER_LABELS } from '@/lib/profile';
import { applyDeltas } from '@/lib/writes/apply-deltas';
import { getProfile } from '@/lib/reads/profile-reads';
import { assertWriteAllowed } from '@/lib/http/rate-limit';
import { clientId } from '@/lib/http/client-id';
import { readJsonBody } from '@/lib/http/request-body';
import { assertSameOrigin } from '@/lib/http/same-origin';
import { withRequestMetrics } from '@/lib/ops/web-metrics';
import { parseDeltas, parseIdempotencyKey } from './schema';

type Context = { params: Promise<{ username: string }> };

export const dynamic = 'force-dynamic';

export const GET = withRequestMetrics('/v1/profile/[username]', async (_request: Request, { params }: Context) =>
  handle(async () => {
    const username = parseUsername((await params).username);
    const profile = await getProfile({ username });
    if (!profile) throw new ProblemError('not-found', `There is no profile @${username}.`);
    return json(profile);
  }),
);

export const POST = withRequestMetrics('/v1/profile/[username]', async (request: Request, { params }: Context) =>
  handle(async () => {
    assertSameOrigin(request);
    const username = parseUsername((await params).username);
    const key = parseIdempotencyKey(request.headers);
    await assertWriteAllowed(clientId(request));
    const deltas = parseDeltas(await readJsonBody(request));
    const result = await applyDeltas({ username, deltas, key });
    switch (result.kind) {
      case 'applied':
        return json(result.profile);
      case 'replayed':
        return json(result.profile, { headers: { 'Idempotent-Replayed': 'true' } });
      case 'not-found':
        throw new ProblemError('not-found', `There is no profile @${username}.`);
      case 'below-zero':
        throw new ProblemError(
          'below-zero',
          `${COUNTER_LABELS[result.counter]} can't go below zero; nothing was changed.`,
          { counter: result.counter },
        );
      case 'key-reused':
        throw new ProblemError(
          'idempotency-key-reused',
          'This Idempotency-Key was already used for a different change (another profile or other counters); nothing was changed. Send a new key for each new change.',
        );
    }
  }),
);
