import { z } from 'zod';
import { ProblemError } from '@/lib/http/problem';
import { COUNTERS, MAX_DELTA, type Deltas } from '@/lib/profile';

// Zero (and -0, and 1e-400, which JSON.parse reads as 0) is refused: it would
// raise the version and wake every open stream for a change that changed nothing.
const delta = z
  .number({ error: 'must be an integer' })
  .int({ error: 'must be an integer' })
  .min(-MAX_DELTA, { error: `must be at least -${MAX_DELTA}` })
  .max(MAX_DELTA, { error: `must be at most ${MAX_DELTA}` })
  .refine((value) => value !== 0, { error: 'must not be 0 (name only the counters to change)' });

export const deltasSchema = z
  .strictObject(
    { followers: delta.optional(), followings: delta.optional(), likes: delta.optional() },
    { error: 'must be a JSON object like {"likes": 1}' },
  )
  .refine((body) => COUNTERS.some((counter) => body[counter] !== undefined), {
    error: 'name at least one of followers, followings, likes',
  });

/** The POST body as deltas, or a 422 that lists every broken rule. */
export function parseDeltas(body: unknown): Deltas {
  const parsed = deltasSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const reasons = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
    return issue.path.length ? `${issue.path.join('.')} ${issue.message}` : issue.message;
  });
  throw new ProblemError(
    'invalid-body',
    `Send non-zero integer deltas between -${MAX_DELTA} and ${MAX_DELTA} for followers, followings or likes: ${reasons.join('; ')}.`,
    { errors: reasons },
  );
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

/** The Idempotency-Key header: absent, or 1 to 100 of [A-Za-z0-9_.:-]; anything else is a 422. */
export function parseIdempotencyKey(headers: Headers): string | undefined {
  const key = headers.get('idempotency-key');
  if (key === null) return undefined;
  if (IDEMPOTENCY_KEY.test(key)) return key;
  throw new ProblemError(
    'invalid-header',
    'The Idempotency-Key header must be 1 to 100 characters of A-Z, a-z, 0-9, "_", ".", ":" or "-" (a UUID works); send one header, or none.',
  );
}
