import { describe, expect, it } from 'vitest';
import type { Profile } from '@/lib/profile';
import { decodeBatch, decodeOutcome, encodeBatch } from '@/lib/writes/write-plan';

const alice: Profile = { username: 'alice', displayName: 'Alice', bio: '', followers: 1, followings: 0, likes: 0, version: 2, updatedAt: '2026-01-01T00:00:00.000Z' };

describe('encodeBatch', () => {
  it('turns requests into column arrays in request order, absent deltas as 0, absent keys as NULL', () => {
    expect(encodeBatch([
      { username: 'alice', deltas: { likes: 1 } },
      { username: 'bob', deltas: { followers: -2, followings: 3 }, key: 'k-1' },
    ])).toEqual([['alice', 'bob'], [0, -2], [0, 3], [1, 0], [null, 'k-1']]);
  });
});

describe('decodeOutcome', () => {
  it.each([
    [{ outcome: 'applied', profile: alice }, { kind: 'applied', profile: alice }],
    [{ outcome: 'not-found', profile: null }, { kind: 'not-found' }],
    [{ outcome: 'below-zero:followings', profile: null }, { kind: 'below-zero', counter: 'followings' }],
    [{ outcome: 'replayed', profile: alice }, { kind: 'replayed', profile: alice }],
    [{ outcome: 'key-reused', profile: null }, { kind: 'key-reused' }],
    [{ outcome: 'busy', profile: null }, { kind: 'busy' }],
  ])('reads %j', (row, expected) => {
    expect(decodeOutcome(row)).toEqual(expected);
  });

  it('refuses an outcome it does not know rather than guessing', () => {
    expect(() => decodeOutcome({ outcome: 'below-zero:retweets', profile: null })).toThrow(/does not know/);
    expect(() => decodeOutcome({ outcome: 'applied', profile: null })).toThrow();
    expect(() => decodeOutcome({ outcome: 'replayed', profile: null })).toThrow();
  });
});

describe('decodeBatch', () => {
  it('fails the whole batch when the rows do not match the requests', () => {
    const requests = [{ username: 'alice', deltas: { likes: 1 } }, { username: 'bob', deltas: { likes: 1 } }];
    expect(() => decodeBatch(requests, [{ outcome: 'applied', profile: alice }])).toThrow(/2 writes returned 1 rows/);
    expect(() => decodeBatch(requests, [{ outcome: 'not-found', profile: null }, { outcome: 'applied', profile: alice }])).toThrow(/not @bob/);
  });
});
