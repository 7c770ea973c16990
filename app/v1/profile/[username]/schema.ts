import { z } from 'zod';
import { ProblemError } from '@/lib/http/problem';
import { COUNTERS, MAX_DELTA, type Deltas } from '@/lib/profile';

const delta = z
  .number({ error: 'must be an integer' })
  .int({ error: 'must be an integer' })
  .min(-MAX_DELTA, { error: `must be at least -${MAX_DELTA}` })
  .max(MAX_DELTA, { error: `must be at most ${MAX_DELTA}` });

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
    `Send integer deltas between -${MAX_DELTA} and ${MAX_DELTA} for followers, followings or likes: ${reasons.join('; ')}.`,
    { errors: reasons },
  );
}
