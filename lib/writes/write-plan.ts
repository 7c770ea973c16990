import { COUNTERS, type Counter, type Deltas, type Profile } from '../profile';

/** One POST: its deltas, and the Idempotency-Key it carried, if any. */
export type DeltaRequest = { username: string; deltas: Deltas; key?: string };

/**
 * What Postgres decided for one request. `busy`: the row (or the key) was
 * locked by another transaction for longer than the lock timeout, and the
 * request was rolled back. `key-reused`: its Idempotency-Key was already used
 * for another username or other deltas, so nothing was applied.
 */
export type BatchOutcome =
  | { kind: 'applied'; profile: Profile }
  | { kind: 'replayed'; profile: Profile }
  | { kind: 'not-found' }
  | { kind: 'below-zero'; counter: Counter }
  | { kind: 'key-reused' }
  | { kind: 'busy' };

export type BatchRow = { outcome: string; profile: Profile | null };

/** A batch as the column arrays apply_profile_deltas takes; an absent delta is 0, an absent key NULL. */
export function encodeBatch(requests: DeltaRequest[]): [string[], number[], number[], number[], Array<string | null>] {
  const column = (counter: Counter) => requests.map((request) => request.deltas[counter] ?? 0);
  return [
    requests.map((request) => request.username),
    column('followers'),
    column('followings'),
    column('likes'),
    requests.map((request) => request.key ?? null),
  ];
}

/** One row of apply_profile_deltas as the answer to its request. */
export function decodeOutcome(row: BatchRow): BatchOutcome {
  if ((row.outcome === 'applied' || row.outcome === 'replayed') && row.profile) return { kind: row.outcome, profile: row.profile };
  if (row.outcome === 'not-found' || row.outcome === 'key-reused' || row.outcome === 'busy') return { kind: row.outcome };
  const counter = COUNTERS.find((name) => row.outcome === `below-zero:${name}`);
  if (counter) return { kind: 'below-zero', counter };
  throw new Error(`apply_profile_deltas answered "${row.outcome}", which this version does not know`);
}

/** Every request's answer, in request order, or an error if the rows do not match the batch. */
export function decodeBatch(requests: DeltaRequest[], rows: BatchRow[]): BatchOutcome[] {
  if (rows.length !== requests.length) throw new Error(`a batch of ${requests.length} writes returned ${rows.length} rows`);
  return rows.map((row, index) => {
    const outcome = decodeOutcome(row);
    if ((outcome.kind === 'applied' || outcome.kind === 'replayed') && outcome.profile.username !== requests[index].username) {
      throw new Error(`batch row ${index} is @${outcome.profile.username}, not @${requests[index].username}`);
    }
    return outcome;
  });
}
