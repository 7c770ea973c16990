import { isUnavailable } from '../db';
import { logger } from '../logger';
import { problem, ProblemError } from './problem';
import { isValidUsername } from '../profile';

/** Runs a route handler's work and turns every failure into problem+json. */
export async function handle(work: () => Promise<Response>): Promise<Response> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ProblemError) return error.toResponse();
    // Writes never get here: lib/writes turns each of their failures into the
    // answer it knows to be true. So these say nothing about what changed.
    if (isUnavailable(error)) {
      logger.warn({ err: (error as Error).message }, 'http: Postgres is unavailable; answering 503');
      return problem('unavailable', 'The database is not reachable right now. Try again in a few seconds.', {}, { 'Retry-After': '2' });
    }
    logger.error({ err: error }, 'http: unexpected error');
    return problem('internal', 'Something went wrong on our side. Try again.');
  }
}

export function json(body: unknown, init: ResponseInit = {}): Response {
  return new Response(JSON.stringify(body), {
    ...init,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...init.headers },
  });
}

/** A path username, or a 404 that says what a username looks like. */
export function parseUsername(raw: string): string {
  if (isValidUsername(raw)) return raw;
  const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
  throw new ProblemError(
    'not-found',
    `There is no profile "${shown}": usernames are 1 to 15 lowercase letters, digits or underscores.`,
  );
}
