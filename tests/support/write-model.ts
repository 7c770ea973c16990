// The reference model of a coalesced batch: what apply_profile_deltas (db/migrations/0003)
// must do, written plainly so the integration suite can check the SQL against it.
import { COUNTERS, type Counter, type Deltas } from '../../lib/profile';

export type Counters = Record<Counter, number>;

export type DeltaRequest = { username: string; deltas: Deltas };

export type PlannedOutcome = { kind: 'apply' } | { kind: 'not-found' } | { kind: 'below-zero'; counter: Counter };

export type BatchPlan = {
  /** One per request, in the order the requests were given. */
  outcomes: PlannedOutcome[];
  /** Summed deltas of the accepted requests, per profile with at least one accepted request. */
  totals: Map<string, Counters>;
};

/**
 * Decides a batch as if its requests had run one at a time, in arrival order:
 * a request whose own delta would take a counter below zero (given the
 * requests accepted before it) is refused and leaves the counters as they
 * were, exactly what the CHECK constraints would do to a lone UPDATE.
 * `current` holds the locked rows; a username missing from it is unknown.
 */
export function planBatch(requests: DeltaRequest[], current: Map<string, Counters>): BatchPlan {
  const running = new Map<string, Counters>();
  const totals = new Map<string, Counters>();
  const outcomes = requests.map(({ username, deltas }): PlannedOutcome => {
    const start = current.get(username);
    if (!start) return { kind: 'not-found' };
    const now = running.get(username) ?? { ...start };
    const below = COUNTERS.find((counter) => now[counter] + (deltas[counter] ?? 0) < 0);
    if (below) return { kind: 'below-zero', counter: below };
    const total = totals.get(username) ?? { followers: 0, followings: 0, likes: 0 };
    for (const counter of COUNTERS) {
      now[counter] += deltas[counter] ?? 0;
      total[counter] += deltas[counter] ?? 0;
    }
    running.set(username, now);
    totals.set(username, total);
    return { kind: 'apply' };
  });
  return { outcomes, totals };
}
