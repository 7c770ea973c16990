import { describe, expect, it } from 'vitest';
import { planBatch, type Counters, type DeltaRequest } from '../support/write-model';

const at = (followers: number, followings = 0, likes = 0): Counters => ({ followers, followings, likes });
const req = (username: string, deltas: DeltaRequest['deltas']): DeltaRequest => ({ username, deltas });

describe('planBatch', () => {
  it('counter at 2, five -1 in one batch: the first two apply, the last three are refused', () => {
    const requests = Array.from({ length: 5 }, () => req('alice', { followers: -1 }));
    const plan = planBatch(requests, new Map([['alice', at(2)]]));
    expect(plan.outcomes.map((outcome) => outcome.kind)).toEqual(['apply', 'apply', 'below-zero', 'below-zero', 'below-zero']);
    expect(plan.outcomes[2]).toEqual({ kind: 'below-zero', counter: 'followers' });
    expect(plan.totals.get('alice')).toEqual(at(-2));
  });

  it('a refused request leaves the counters as they were for the ones after it', () => {
    const requests = [req('alice', { likes: -1 }), req('alice', { likes: -1 }), req('alice', { likes: 1 }), req('alice', { likes: -1 })];
    const plan = planBatch(requests, new Map([['alice', at(0, 0, 1)]]));
    expect(plan.outcomes.map((outcome) => outcome.kind)).toEqual(['apply', 'below-zero', 'apply', 'apply']);
    expect(plan.totals.get('alice')).toEqual(at(0, 0, -1));
  });

  it('refuses the whole request when any one of its counters would go negative', () => {
    const plan = planBatch([req('bob', { followers: 5, likes: -3 })], new Map([['bob', at(0, 0, 2)]]));
    expect(plan.outcomes).toEqual([{ kind: 'below-zero', counter: 'likes' }]);
    expect(plan.totals.has('bob')).toBe(false);
  });

  it('keeps profiles apart and reports unknown ones as not found', () => {
    const requests = [req('alice', { likes: 3 }), req('ghost', { likes: 1 }), req('bob', { followings: -1 }), req('alice', { followers: 1 })];
    const plan = planBatch(requests, new Map([['alice', at(0)], ['bob', at(0, 1)]]));
    expect(plan.outcomes.map((outcome) => outcome.kind)).toEqual(['apply', 'not-found', 'apply', 'apply']);
    expect(plan.totals.get('alice')).toEqual(at(1, 0, 3));
    expect(plan.totals.get('bob')).toEqual(at(0, -1));
    expect(plan.totals.has('ghost')).toBe(false);
  });

  it('keeps a profile whose accepted deltas cancel out, so its version still moves', () => {
    const plan = planBatch([req('alice', { likes: 1 }), req('alice', { likes: -1 })], new Map([['alice', at(0)]]));
    expect(plan.outcomes.map((outcome) => outcome.kind)).toEqual(['apply', 'apply']);
    expect(plan.totals.get('alice')).toEqual(at(0));
  });

  it('does not change the rows it was given', () => {
    const current = new Map([['alice', at(1)]]);
    planBatch([req('alice', { followers: -1 })], current);
    expect(current.get('alice')).toEqual(at(1));
  });
});
