import { describe, expect, it } from 'vitest';
import { decodeProfile, encodeProfile } from '@/lib/cache/profile-cache';
import type { Profile } from '@/lib/profile';

const alice: Profile = {
  username: 'alice',
  displayName: 'Alice Martin',
  bio: 'Émoji ✓ and "quotes"',
  followers: 10,
  followings: 2,
  likes: 0,
  version: 7,
  updatedAt: '2026-11-28T04:31:50.770Z',
};

describe('cache codec', () => {
  it('round-trips a profile exactly', () => {
    expect(decodeProfile(encodeProfile(alice))).toEqual(alice);
  });

  it.each([
    ['nothing cached', null],
    ['an empty string', ''],
    ['broken JSON', '{"username":'],
    ['a negative counter', JSON.stringify({ ...alice, likes: -1 })],
    ['a missing version', JSON.stringify({ ...alice, version: undefined })],
    ['an invalid username', JSON.stringify({ ...alice, username: 'Alice' })],
  ])('treats %s as a miss', (_name, text) => {
    expect(decodeProfile(text)).toBeNull();
  });
});
